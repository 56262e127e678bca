#!/usr/bin/env bash
# Set up (idempotent) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# Lint and format first (ruff, configured in pyproject.toml): seconds, and a failure names the file
# and line. The import layers are checked by tests/test_architecture.py inside the suite.
ruff check src tests bench scripts
ruff format --check src tests bench scripts
# One worker per core (pytest-xdist) unless the arguments pick a number: most of the suite is
# single-threaded work (CLI subprocesses, tiny models), which two cores run side by side.
case " $* " in
  *" -n "*|*" -n"[0-9]*|*" -nauto "*|*" --numprocesses"*|*" -p no:xdist "*) ;;
  *) set -- -n auto "$@" ;;
esac
set +e
python -m pytest "$@"
rc=$?
# pytest exits 5 when it collected no tests: a run with no tests is a defect, not a pass.
if [ "$rc" -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
exit "$rc"
