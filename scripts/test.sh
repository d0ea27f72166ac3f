#!/usr/bin/env bash
# The README's test command: a fresh venv with the package and its test extras, then the whole suite.
# Unit and loopback tests run on 2 workers; the network-namespace lab (root only) runs serially after.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
.venv/bin/python -m pytest -n 2 -m "not netns" tests
status=0
if [[ -d tests/netns ]] && ls tests/netns/test_*.py >/dev/null 2>&1; then
  .venv/bin/python -m pytest -p no:xdist -m netns tests/netns || status=$?
  # 5 = no tests collected (e.g. none marked); anything else is a failure.
  if [[ $status -ne 0 && $status -ne 5 ]]; then exit $status; fi
fi
