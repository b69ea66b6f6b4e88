#!/usr/bin/env bash
# The test command: create (once) and reuse .venv/ with all four frameworks, then run pytest.
# Extra arguments go to pytest, e.g. `bash tests/run.sh tests/test_rules.py -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.d2l-optim-test-deps
want=$(cat pyproject.toml tests/requirements.txt | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q -e ".[dev]" -r tests/requirements.txt
  echo "$want" > "$stamp"
fi
exec .venv/bin/python -m pytest "$@"
