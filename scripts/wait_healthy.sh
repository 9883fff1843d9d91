#!/usr/bin/env bash
# Waits for /api/dashboard/health to be green, then prints URLs and demo logins.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$(bash "$ROOT/scripts/stack.sh" env dev)"
url="http://127.0.0.1:$WEB_PORT"
for _ in $(seq 1 120); do
  code=$(curl -s -o /tmp/molam-health.json -w '%{http_code}' "$url/api/dashboard/health" || true)
  [ "$code" = 200 ] && break
  sleep 1
done
if [ "$code" != 200 ]; then
  echo "health is not green after 120 s (HTTP $code):"; cat /tmp/molam-health.json 2>/dev/null; echo
  bash "$ROOT/scripts/stack.sh" status dev || true
  echo "logs: $MOLAM_RUN_DIR/app/*.log (one per part; supervisord.log: restarts)"; exit 1
fi
cat <<TXT

Molam dashboard is up (health green).
  Dashboard pages   $url/
  API docs          $url/api/docs/
  Health            $url/api/dashboard/health
  Django admin      $url/admin/
  Metrics           $url/metrics
Demo logins (username / password / role / scope):
TXT
cd "$ROOT" && .venv/bin/python manage.py seed_demo --print-logins
echo "Stop everything with: make down"
