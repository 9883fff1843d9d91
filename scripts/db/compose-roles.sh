#!/bin/sh
# docker-compose.yml's db-roles step, on every `docker compose up` before migrate:
# converges the database roles (scripts/db/roles.sql, docs/database-roles.md) as the
# superuser `postgres`.
#
# A volume created before the roles existed had `molam` (the application's role then)
# as its initdb superuser, which owns the system catalogs and so can never be the
# application's role again: it is renamed molam_initdb (kept, superuser, no login), a
# `postgres` superuser is created first, and the schema's objects go to molam_owner.
set -eu
export PGHOST="${PGHOST:-postgis}" PGDATABASE=postgres PGOPTIONS="-c client_min_messages=warning"
as_role() { r="$1"; shift; PGPASSWORD="$POSTGRES_PASSWORD" psql -U "$r" -v ON_ERROR_STOP=1 -qAt "$@"; }
i=0
until as_role postgres -c 'select 1' >/dev/null 2>&1; do
  if [ "$(as_role molam -c 'select oid = 10 from pg_roles where rolname = current_user' 2>/dev/null)" = t ]; then
    echo "db-roles: a volume of the older layout: creating the superuser postgres"
    as_role molam -v pw="$POSTGRES_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE postgres LOGIN SUPERUSER PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'postgres') \gexec
SQL
    continue
  fi
  i=$((i + 1))
  [ "$i" -lt 60 ] || { echo "db-roles: cannot connect to $PGHOST as postgres" >&2; exit 1; }
  sleep 2
done
if [ "$(as_role postgres -c "select 1 from pg_roles where rolname = 'molam' and oid = 10")" = 1 ]; then
  echo "db-roles: renaming the initdb superuser molam to molam_initdb (no login)"
  as_role postgres -c 'ALTER ROLE molam RENAME TO molam_initdb' -c 'ALTER ROLE molam_initdb NOLOGIN'
fi
as_role postgres -v owner=molam_owner -v owner_password="$DB_OWNER_PASSWORD" \
  -v app=molam -v app_password="$DB_APP_PASSWORD" -v legacy=molam_initdb \
  -v db=molam -v owner_createdb=off -f "$(dirname "$0")/roles.sql"
echo "db-roles: molam_owner owns the database, molam is the application's role"
