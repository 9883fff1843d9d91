#!/usr/bin/env bash
# `make test`: start the test profile's own PostgreSQL, Redis and broker (ports
# apart from `make up`'s), run the whole suite, stop what this run started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/stack.sh install
# Dependency audit (scripts/audit_deps.py: pip-audit over .venv, npm audit over the
# front-end libraries): a known vulnerability fails the run. When the vulnerability
# services cannot be reached (exit 2) it says so in a banner and the run goes on, unless
# DEPS_AUDIT=required; DEPS_AUDIT=skip leaves it out.
if [ "${DEPS_AUDIT:-}" != skip ]; then
  audit_rc=0
  .venv/bin/python scripts/audit_deps.py || audit_rc=$?
  if [ "$audit_rc" = 2 ] && [ "${DEPS_AUDIT:-}" != required ]; then
    echo "[test] dependency audit NOT done (banner above); going on (DEPS_AUDIT=required stops here)" >&2
  elif [ "$audit_rc" != 0 ]; then
    exit "$audit_rc"
  fi
fi
started=0
if ! bash scripts/stack.sh status test | grep -q '^postgres *running'; then started=1; fi
bash scripts/stack.sh up test
cleanup() { [ "$started" = 1 ] && bash scripts/stack.sh down test || true; }
trap cleanup EXIT
eval "$(bash scripts/stack.sh env test)"
.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
