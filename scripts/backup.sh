#!/usr/bin/env bash
# Backups of the PostgreSQL database (pg_dump custom format) and their restore.
#
#   scripts/backup.sh backup [FILE]           dump to FILE (default backups/<UTC time>.dump)
#   scripts/backup.sh restore [FILE]          restore FILE (default: the newest backups/*.dump)
#                                             over the database: into a fresh database first,
#                                             then, with the application parts stopped, swapped
#                                             in; the replaced one is kept as <db>_pre_restore
#   scripts/backup.sh restore FILE --into DB  restore FILE into a NEW database DB (nothing swapped,
#                                             nothing stopped: drills, inspection)
#
# Which database: DATABASE_URL when set, else the dev stack's (scripts/stack.sh env dev,
# honouring STACK_PORT_OFFSET). pg_dump/pg_restore connect to its host and port as
# BACKUP_PGUSER (default postgres, the local stack's superuser: a restore recreates
# the owners, grants and the PostGIS extension) with BACKUP_PGPASSWORD if any.
# The PostgreSQL 15 client binaries (PG_BIN) are used, the server's own version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STACK="$ROOT/scripts/stack.sh"

log() { printf '[backup] %s\n' "$*" >&2; }
die() { printf '[backup] error: %s\n' "$*" >&2; exit 1; }

# The dev stack's database (its application parts are stopped around a restore)
# when DATABASE_URL is unset or names that same database.
STACK_ENV="$(bash "$STACK" env dev)"
STACK_URL="$(eval "$STACK_ENV"; echo "$DATABASE_URL")"
if [ -z "${DATABASE_URL:-}" ] || [ "$DATABASE_URL" = "$STACK_URL" ]; then
  eval "$STACK_ENV"
  FROM_STACK=1
else
  FROM_STACK=0
fi
# postgis://user:password@host:port/name
re='^[a-z0-9+]+://([^:@/]*)(:([^@/]*))?@([^:/]+)(:([0-9]+))?/([^?]+)'
[[ "$DATABASE_URL" =~ $re ]] || die "cannot read DATABASE_URL ($DATABASE_URL)"
DB_HOST="${BASH_REMATCH[4]}"
DB_PORT="${BASH_REMATCH[6]:-5432}"
DB_NAME="${BASH_REMATCH[7]}"
export PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGUSER="${BACKUP_PGUSER:-postgres}"
[ -n "${BACKUP_PGPASSWORD:-}" ] && export PGPASSWORD="$BACKUP_PGPASSWORD"
export PGOPTIONS="-c client_min_messages=warning"

psql_admin() { "$PG_BIN/psql" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
quote_ident() { printf '"%s"' "${1//\"/\"\"}"; }

db_exists() {
  [ "$(psql_admin -v n="$1" <<<"select 1 from pg_database where datname = :'n'")" = 1 ]
}

backup() {
  local file="${1:-}"
  if [ -z "$file" ]; then
    mkdir -p "$ROOT/backups"
    file="$ROOT/backups/$(date -u +%Y%m%dT%H%M%SZ).dump"
  fi
  log "dumping $DB_NAME ($DB_HOST:$DB_PORT) to $file"
  # Custom format: compressed, restorable table by table, in parallel if wanted.
  "$PG_BIN/pg_dump" -Fc -d "$DB_NAME" -f "$file.partial"
  mv "$file.partial" "$file"
  log "done: $(du -h "$file" | cut -f1) $file"
  echo "$file"
}

restore_into() {  # file new-database
  local file="$1" target="$2" owner
  db_exists "$target" && die "database $target exists already (restore only into a new one)"
  owner="$(psql_admin -v n="$DB_NAME" <<<"select pg_get_userbyid(datdba) from pg_database where datname = :'n'")"
  owner="${owner:-$PGUSER}"
  log "restoring $file into new database $target (owner $owner)"
  # template0: an empty database, so the dump's own CREATE EXTENSION postgis and
  # objects apply without clashing with what template1 carries.
  psql_admin <<<"create database $(quote_ident "$target") template template0 owner $(quote_ident "$owner")"
  if ! "$PG_BIN/pg_restore" --exit-on-error --no-password -d "$target" "$file"; then
    psql_admin <<<"drop database if exists $(quote_ident "$target")" || true
    die "pg_restore failed; $target dropped, nothing else changed"
  fi
  psql_admin -d "$target" <<<"analyze" >/dev/null
  log "restored into $target"
}

app_running() {
  [ "$FROM_STACK" = 1 ] || return 1
  local f
  for f in "$MOLAM_RUN_DIR"/app/*.pid; do
    [ -f "$f" ] && kill -0 "$(head -n1 "$f")" 2>/dev/null && return 0
  done
  return 1
}

restore() {
  local file="${1:-}" into=""
  shift || true
  if [ "${1:-}" = --into ]; then into="${2:?--into needs a database name}"; fi
  if [ -z "$file" ]; then
    file="$(ls -1t "$ROOT"/backups/*.dump 2>/dev/null | head -n1 || true)"
    [ -n "$file" ] || die "no backups/*.dump to restore (make backup first)"
  fi
  [ -f "$file" ] || die "no such file: $file"
  "$PG_BIN/pg_restore" -l "$file" >/dev/null || die "$file is not a pg_dump custom-format archive"
  if [ -n "$into" ]; then
    restore_into "$file" "$into"
    return
  fi
  # Over the live database: restore beside it first (the live one keeps serving and
  # stays untouched if the restore fails), then swap names with the app stopped.
  local fresh="${DB_NAME}_restoring" old="${DB_NAME}_pre_restore" was_running=0
  db_exists "$fresh" && psql_admin <<<"drop database $(quote_ident "$fresh")"
  restore_into "$file" "$fresh"
  if app_running; then
    was_running=1
    log "stopping the application parts"
    bash "$STACK" app-down
  fi
  log "swapping $fresh in as $DB_NAME (the replaced database is kept as $old)"
  psql_admin -v n="$DB_NAME" <<<"select pg_terminate_backend(pid) from pg_stat_activity
    where datname = :'n' and pid <> pg_backend_pid()" >/dev/null
  psql_admin <<<"drop database if exists $(quote_ident "$old")"
  psql_admin <<<"alter database $(quote_ident "$DB_NAME") rename to $(quote_ident "$old")"
  psql_admin <<<"alter database $(quote_ident "$fresh") rename to $(quote_ident "$DB_NAME")"
  if [ "$was_running" = 1 ]; then
    log "starting the application parts"
    bash "$STACK" app-up
    # The cached snapshots (Redis) describe the database before the restore.
    (cd "$ROOT" && "$ROOT/.venv/bin/python" manage.py refresh_snapshots --all >/dev/null)
  else
    log "application parts were not running: start them (make restart / scripts/stack.sh app-up)"
  fi
  log "restore done; drop $old when satisfied: psql -c 'drop database $old'"
}

case "${1:-}" in
  backup) shift; backup "$@" ;;
  restore) shift; restore "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
