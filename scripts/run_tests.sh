#!/usr/bin/env bash
# `make test`: start the test profile's own PostgreSQL, Redis and broker (ports
# apart from `make up`'s), run the whole suite, stop what this run started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/stack.sh install
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
