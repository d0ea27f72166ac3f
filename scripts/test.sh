#!/usr/bin/env bash
# The README's test command: the Debian packages the tests use (installed when root with apt-get,
# see .ci/packages.sh), a fresh venv with the package and its test extras, then the whole suite.
# Unit and loopback tests run on 2 workers; the network-namespace lab (root only, every test marked
# netns) runs serially after. Tests whose packages are missing skip, saying which.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/packages.sh
ci_install_missing
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
# The trust-stores extra's data (the Apple/Windows/Android root lists) without its dependencies:
# sslyze's cryptography < 47 pin would replace the newer cryptography the rest is tested with.
.venv/bin/pip install -q --no-deps 'sslyze>=6'
# The real client behind the python-openssl111 profile (tests/local/real_clients.py): OpenSSL 1.1.1 from
# an old cryptography wheel, driven as CPython 3.9's ssl drives it. Without it those comparisons skip.
python3 -m venv .venv-py111
.venv-py111/bin/pip install -q 'cryptography==3.4.8' 'pyOpenSSL==20.0.1' ||
    echo "python-openssl111's real client could not be installed: its ground-truth comparisons skip"
.venv/bin/python -m pytest -n 2 -m "not netns" tests
status=0
.venv/bin/python -m pytest -p no:xdist -m netns tests || status=$?
# 5 = no tests collected (e.g. none marked); anything else is a failure.
if [[ $status -ne 0 && $status -ne 5 ]]; then exit $status; fi
