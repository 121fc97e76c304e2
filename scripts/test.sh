#!/usr/bin/env bash
# The whole test suite. Installs what the tests need when it is missing: the Python environment,
# Debian's prometheus (prometheus + promtool) and prometheus-alertmanager, Node.js for the npm CRD schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
npm ci --prefix tests/schemas --no-audit --no-fund --silent
./scripts/build-pulumi-tools.sh >/dev/null   # the real CLI for the `engine` tests; a no-op once built

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache | sed -n '/^Contracts/,$p'   # the import rule of docs/architecture.md
.venv/bin/mypy   # type check, config in pyproject.toml
.venv/bin/python -m pytest "$@"
