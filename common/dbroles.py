"""The two database roles (docs/database-roles.md): the schema's owner and the application.

`migrate` (common/management/commands/migrate.py) runs as the owner when
settings.DATABASE_ROLES is set (DATABASE_OWNER_URL), then `privileges_apply` gives the
application role exactly what it needs: rows of every table, minus the changes the
append-only tables refuse, and the DDL the application does at run time (partitions)
through SECURITY DEFINER functions that check their arguments. The application role
owns nothing, so it can neither disable a trigger nor alter, drop or truncate a table.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connections, transaction

# Tables whose rows are never changed once written (opsactions migration 0002's triggers;
# privileges are the first wall, the triggers the second). table -> privileges granted.
RESTRICTED_TABLES = {
    "opsactions_auditentry": "SELECT, INSERT",
    "opsactions_opsapproval": "SELECT, INSERT",
    # Its state changes; its frozen fields do not (trigger); never deleted.
    "opsactions_opsaction": "SELECT, INSERT, UPDATE",
    # Written by `migrate` only.
    "django_migrations": "SELECT",
}
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"

# The run-time DDL of dashboard/partitions.py and dashboard/ingest/sql.py. Each function
# runs as the owner, so it builds every name itself (from an allow-list and a date) and
# refers to nothing through the caller's search_path.
PARTITION_FUNCTIONS = (
    "molam_month_partition_create(text, date)",
    "molam_month_partition_drop(text, date)",
    "molam_seen_partition_create(date)",
    "molam_seen_partition_detach(date)",
    "molam_seen_partition_drop(date)",
    "molam_tx_partition_create(date)",
    "molam_tx_partition_drop(date)",
)
PARTITION_FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION public.molam_month_partition_create(parent text, month date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text;
BEGIN
    IF parent IS NULL OR parent NOT IN ('dashboard_hourly_aggregate') THEN
        RAISE EXCEPTION 'molam_month_partition_create: % has no monthly partitions', parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF month IS NULL OR month <> date_trunc('month', month)::date
       OR month < DATE '2000-01-01' OR month > current_date + 400 THEN
        RAISE EXCEPTION 'molam_month_partition_create: % is not the first day of a month in range',
            month USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := parent || '_p' || to_char(month, 'YYYYMM');
    IF to_regclass('public.' || part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.%I '
                   'FOR VALUES FROM (%L) TO (%L)', part, parent,
                   to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00',
                   to_char((month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00');
    RETURN true;
END
$fn$;

-- Retention (dashboard/ingest/maintenance.py): a month's partition, detached and dropped,
-- only for a month wholly in the past.
CREATE OR REPLACE FUNCTION public.molam_month_partition_drop(parent text, month date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text;
BEGIN
    IF parent IS NULL OR parent NOT IN ('dashboard_hourly_aggregate') THEN
        RAISE EXCEPTION 'molam_month_partition_drop: % has no monthly partitions', parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF month IS NULL OR month <> date_trunc('month', month)::date
       OR month >= date_trunc('month', current_date)::date THEN
        RETURN false;
    END IF;
    part := parent || '_p' || to_char(month, 'YYYYMM');
    IF NOT EXISTS (
        SELECT 1 FROM pg_inherits i
         WHERE i.inhparent = ('public.' || parent)::regclass
           AND i.inhrelid = to_regclass('public.' || part)) THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', parent, part);
    EXECUTE format('DROP TABLE public.%I', part);
    RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION public.molam_seen_partition_create(day date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text;
BEGIN
    IF day IS NULL OR day < DATE '2000-01-01' OR day > current_date + 400 THEN
        RAISE EXCEPTION 'molam_seen_partition_create: % is out of range', day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := 'dashboard_seen_event_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass('public.' || part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.dashboard_seen_event '
                   'FOR VALUES FROM (%L) TO (%L)', part, day::text, (day + 1)::text);
    RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION public.molam_seen_partition_detach(day date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text := 'dashboard_seen_event_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF day IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_inherits i
         WHERE i.inhparent = 'public.dashboard_seen_event'::regclass
           AND i.inhrelid = to_regclass('public.' || part)) THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE public.dashboard_seen_event DETACH PARTITION public.%I', part);
    RETURN true;
END
$fn$;

-- Only a detached day partition (after molam_seen_partition_detach) is dropped.
CREATE OR REPLACE FUNCTION public.molam_seen_partition_drop(day date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text := 'dashboard_seen_event_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF day IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_class c
         WHERE c.oid = to_regclass('public.' || part)
           AND c.relkind = 'r' AND NOT c.relispartition) THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TABLE public.%I', part);
    RETURN true;
END
$fn$;

-- Transactions (dashboard/transactions/): one partition per UTC day of occurred_at.
CREATE OR REPLACE FUNCTION public.molam_tx_partition_create(day date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text;
BEGIN
    IF day IS NULL OR day < DATE '2000-01-01' OR day > current_date + 400 THEN
        RAISE EXCEPTION 'molam_tx_partition_create: % is out of range', day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := 'dashboard_transaction_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass('public.' || part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.dashboard_transaction '
                   'FOR VALUES FROM (%L) TO (%L)', part,
                   (day::timestamp AT TIME ZONE 'UTC')::text,
                   ((day + 1)::timestamp AT TIME ZONE 'UTC')::text);
    RETURN true;
END
$fn$;

-- Retention: a whole day partition, detached then dropped (never the default partition).
CREATE OR REPLACE FUNCTION public.molam_tx_partition_drop(day date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text := 'dashboard_transaction_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF day IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_inherits i
         WHERE i.inhparent = 'public.dashboard_transaction'::regclass
           AND i.inhrelid = to_regclass('public.' || part)) THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE public.dashboard_transaction DETACH PARTITION public.%I', part);
    EXECUTE format('DROP TABLE public.%I', part);
    RETURN true;
END
$fn$;
"""


def roles():
    """settings.DATABASE_ROLES ({"app": {USER, PASSWORD}, "owner": {...}}) or None."""
    return getattr(settings, "DATABASE_ROLES", None)


def connection_use(role, alias="default"):
    """Point `alias`'s settings at `role`'s credentials, for every thread (tests: the test
    database is created and dropped as the owner, the tests run as the app role)."""
    creds = (roles() or {}).get(role)
    if creds is None:
        return
    conn = connections[alias]
    conn.close()
    conn.settings_dict.update(creds)


@contextmanager
def as_owner(alias="default"):
    """In this thread, `connections[alias]` (so `django.db.connection`) is a connection of
    the owner role while the block runs; the caller's own connection is left untouched.
    Without DATABASE_ROLES, or already the owner: the connection itself."""
    conn = connections[alias]
    owner = (roles() or {}).get("owner")
    if owner is None or conn.settings_dict["USER"] == owner["USER"]:
        yield conn
        return
    owner_conn = conn.copy()
    owner_conn.settings_dict.update(owner)
    connections[alias] = owner_conn
    try:
        yield owner_conn
    finally:
        connections[alias] = conn
        owner_conn.close()


def privileges_apply(conn):
    """As the owner: create the partition functions, then grant the app role its
    privileges (idempotent; revokes whatever else it holds on the owner's objects)."""
    qn = conn.ops.quote_name
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        cur.execute(PARTITION_FUNCTIONS_SQL)
        for fn in PARTITION_FUNCTIONS:
            cur.execute(f"REVOKE ALL ON FUNCTION public.{fn} FROM PUBLIC")
        app = (roles() or {}).get("app")
        if app is None or app["USER"] == conn.settings_dict["USER"]:
            return
        role = qn(app["USER"])
        cur.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user) "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1"
        )
        tables, sequences = [], []
        for name, kind in cur.fetchall():
            (sequences if kind == "S" else tables).append(name)
        if tables:
            names = ", ".join(qn(t) for t in tables)
            cur.execute(f"REVOKE ALL ON TABLE {names} FROM {role}")
            plain = [qn(t) for t in tables if t not in RESTRICTED_TABLES]
            if plain:
                cur.execute(f"GRANT {TABLE_PRIVILEGES} ON TABLE {', '.join(plain)} TO {role}")
            for table, privileges in RESTRICTED_TABLES.items():
                if table in tables:
                    cur.execute(f"GRANT {privileges} ON TABLE {qn(table)} TO {role}")
        if sequences:
            names = ", ".join(qn(s) for s in sequences)
            cur.execute(f"REVOKE ALL ON SEQUENCE {names} FROM {role}")
            cur.execute(f"GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCE {names} TO {role}")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        for fn in PARTITION_FUNCTIONS:
            cur.execute(f"GRANT EXECUTE ON FUNCTION public.{fn} TO {role}")
        # What the owner creates later (run-time partitions, new tables) is covered too;
        # `migrate` narrows new restricted tables when it ends.
        cur.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {TABLE_PRIVILEGES} "
            f"ON TABLES TO {role}"
        )
        cur.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {SEQUENCE_PRIVILEGES} "
            f"ON SEQUENCES TO {role}"
        )
