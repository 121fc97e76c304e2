#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs the pinned requirements. Safe to run again.
# REQUIREMENTS=requirements.txt installs the runtime only (what CI jobs that hold cloud credentials run);
# the default adds the tests and checks (requirements-dev.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
requirements=${REQUIREMENTS:-requirements-dev.txt}
[ -f "$requirements" ] || requirements=requirements.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
# The project itself, editable: its packages import from anywhere without sys.path edits.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
