#!/usr/bin/env bash
# The test command: create (once) and reuse .venv/ with all four frameworks, then run pytest.
# Extra arguments go to pytest, e.g. `bash tests/run.sh tests/test_rules.py -x`.
# D2L_OPTIM_TEST_ENV=numpy2 uses a second venv, .venv-numpy2/, on NumPy 2 without MXNet.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${D2L_OPTIM_TEST_ENV:-main}" in
  main)   venv=.venv;        reqs=tests/requirements.txt ;;
  numpy2) venv=.venv-numpy2; reqs=tests/requirements-numpy2.txt ;;
  *) echo "D2L_OPTIM_TEST_ENV must be main or numpy2, got '$D2L_OPTIM_TEST_ENV'" >&2; exit 2 ;;
esac
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/.d2l-optim-test-deps"
want=$(cat pyproject.toml "$reqs" | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install -q -e ".[dev]" -r "$reqs"
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m pytest "$@"
