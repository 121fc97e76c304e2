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
# The real Pulumi CLI for the `engine` tests, built once from its Go modules (a no-op when built). The first
# build takes about half an hour of CPU, so it runs beside the checks and the tests that do not need it.
tools_log=$(mktemp) unit_log=$(mktemp) engine_log=$(mktemp)
setsid ./scripts/build-pulumi-tools.sh >"$tools_log" 2>&1 &   # its own process group: a failed check stops it
tools=$!
trap 'kill -- -$tools 2>/dev/null || true; rm -f "$tools_log" "$unit_log" "$engine_log"' EXIT
tools_built() {
  wait $tools || { tail -40 "$tools_log" >&2; echo "scripts/build-pulumi-tools.sh failed" >&2; return 1; }
}

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache | sed -n '/^Contracts/,$p'   # the import rule of docs/architecture.md
.venv/bin/mypy   # type check, config in pyproject.toml
if [ $# -gt 0 ]; then   # a selection of tests: one run, once the tools are there
  tools_built
  .venv/bin/python -m pytest "$@"
  exit
fi
.venv/bin/python -m pytest -m "not engine" | tee "$unit_log"
tools_built
.venv/bin/python -m pytest -m engine | tee "$engine_log"
echo "summary: $(tail -1 "$unit_log" | tr -d '=' | xargs) (not engine); $(tail -1 "$engine_log" | tr -d '=' | xargs) (engine)"
