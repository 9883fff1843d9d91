"""Least privilege (docs/database-roles.md): connected with the application's own database
credentials (DATABASE_URL, what web, worker, beat and consumer use), every way of
rewriting the audit trail or the schema fails on privileges, while the application's
writes and its run-time partitions (through the owner's narrow functions) still work."""

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, ProgrammingError, connection, transaction

from common import dbroles
from dashboard.partitions import (
    SEEN_TABLE,
    add_months,
    create_month_partition,
    create_seen_partition,
    list_partitions,
    month_start,
    seen_partition_name,
)
from opsactions.audit import audit_verify
from opsactions.models import AuditEntry, OpsAction, OpsApproval

pytestmark = pytest.mark.django_db


def roles():
    assert settings.DATABASE_ROLES, (
        "DATABASE_OWNER_URL is unset: the tests must run as the application role "
        '(eval "$(bash scripts/stack.sh env test)")'
    )
    return settings.DATABASE_ROLES


def one(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def request_action(actor, target="merchant:m_1"):
    from opsactions import services

    return services.action_create(
        actor=actor,
        action_type="FREEZE_MERCHANT",
        target=target,
        params={"reason_code": "fraud_suspected"},
        reason="least privilege test",
    )


@pytest.fixture
def trail(ops_admin, approver_b):
    """An action with audit rows and a vote."""
    from opsactions import services

    action = request_action(ops_admin)
    services.action_approve(actor=approver_b, action_id=action.pk, comment="fine")
    return action


def test_the_tests_and_the_application_use_the_app_role_which_is_powerless():
    app, owner = roles()["app"]["USER"], roles()["owner"]["USER"]
    assert app != owner
    assert connection.settings_dict["USER"] == app
    assert one("SELECT current_user, session_user") == (app, app)
    flags = one(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user"
    )
    assert flags == (False, False, False, False, False)
    assert one("SELECT pg_has_role(current_user, %s, 'MEMBER')", [owner]) == (False,)
    assert one("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
               "WHERE r.rolname = current_user") == (0,)  # fmt: skip
    # It owns nothing: every table of the schema is the owner's.
    assert one(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
    ) == (0,)
    assert one(
        "SELECT pg_get_userbyid(relowner) FROM pg_class "
        "WHERE oid = 'opsactions_auditentry'::regclass"
    ) == (owner,)


REFUSED = {
    "disable the audit trigger": "ALTER TABLE opsactions_auditentry "
    "DISABLE TRIGGER opsactions_audit_append_only",
    "disable every trigger": "ALTER TABLE opsactions_opsapproval DISABLE TRIGGER ALL",
    "disable the frozen-action trigger": "ALTER TABLE opsactions_opsaction "
    "DISABLE TRIGGER opsactions_action_frozen",
    "drop the audit trigger": "DROP TRIGGER opsactions_audit_append_only ON opsactions_auditentry",
    "drop the trigger function": "DROP FUNCTION opsactions_refuse_change() CASCADE",
    "replace the trigger function": "CREATE OR REPLACE FUNCTION opsactions_refuse_change() "
    "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "update an audit row": "UPDATE opsactions_auditentry SET actor_username = 'forger'",
    "delete an audit row": "DELETE FROM opsactions_auditentry",
    "truncate the audit": "TRUNCATE opsactions_auditentry",
    "update a vote": "UPDATE opsactions_opsapproval SET comment = 'edited'",
    "delete a vote": "DELETE FROM opsactions_opsapproval",
    "truncate the votes": "TRUNCATE opsactions_opsapproval",
    "delete an action": "DELETE FROM opsactions_opsaction",
    "truncate the actions": "TRUNCATE opsactions_opsaction CASCADE",
    "truncate any table": "TRUNCATE dashboard_hourly_aggregate",
    "add a column": "ALTER TABLE opsactions_auditentry ADD COLUMN note text",
    "drop the audit table": "DROP TABLE opsactions_auditentry CASCADE",
    "rename the audit table": "ALTER TABLE opsactions_auditentry RENAME TO audit_old",
    "add a trigger of its own": "CREATE TRIGGER t BEFORE INSERT ON opsactions_auditentry "
    "FOR EACH ROW EXECUTE FUNCTION opsactions_refuse_change()",
    "create a table": "CREATE TABLE public.shadow_audit (id int)",
    "skip triggers by replication role": "SET session_replication_role = replica",
    "create a SECURITY DEFINER function": "CREATE FUNCTION public.escalate() RETURNS void "
    "LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
    "replace a narrow function's body": "CREATE OR REPLACE FUNCTION "
    "public.molam_seen_partition_create(day date) RETURNS boolean LANGUAGE sql "
    "SECURITY DEFINER AS 'SELECT true'",
    "take a narrow function over": "ALTER FUNCTION public.molam_seen_partition_create(date) "
    "OWNER TO CURRENT_USER",
    "detach a partition itself": f"ALTER TABLE {SEEN_TABLE} DETACH PARTITION {SEEN_TABLE}_default",
    "create a role": "CREATE ROLE intruder LOGIN SUPERUSER",
    "create a plain role": "CREATE ROLE intruder",
    "run a server program": "COPY (SELECT 1) TO PROGRAM 'true'",
    "read a server file": "SELECT pg_read_file('/etc/passwd')",
}


def refused(sql):
    """The statement fails on privileges, not on an append-only trigger."""
    with pytest.raises(ProgrammingError) as info, transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(sql)
    cause = info.value.__cause__
    assert isinstance(cause, psycopg.errors.InsufficientPrivilege), repr(cause)
    message = str(cause)
    for trigger_says in ("append-only", "frozen", "cannot be deleted"):
        assert trigger_says not in message, message
    return message


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_the_app_role_may_not(trail, sql):
    refused(sql)
    assert audit_verify().ok


def test_the_app_role_may_not_create_a_database():
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=db["NAME"],
        user=roles()["app"]["USER"],
        password=roles()["app"]["PASSWORD"],
        autocommit=True,
    ) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE intruder")


def test_the_app_role_may_not_take_the_owners_role_or_its_privileges(trail):
    owner = connection.ops.quote_name(roles()["owner"]["USER"])
    me = connection.ops.quote_name(roles()["app"]["USER"])
    refused(f"GRANT {owner} TO {me}")
    refused(f"SET ROLE {owner}")
    refused(f"ALTER ROLE {me} SUPERUSER")
    refused(f"ALTER ROLE {me} BYPASSRLS")
    # Granting itself what it lacks: PostgreSQL answers a warning or an error, and nothing
    # is granted either way.
    for sql in (
        f"GRANT ALL ON opsactions_auditentry TO {me}",
        f"GRANT UPDATE, DELETE, TRUNCATE ON opsactions_opsapproval TO {me}",
        f"GRANT ALL ON SCHEMA public TO {me}",
    ):
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
        except DatabaseError:
            pass
    for table in ("opsactions_auditentry", "opsactions_opsapproval"):
        for privilege in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
            assert one("SELECT has_table_privilege(%s, %s)", [table, privilege]) == (False,)
    assert one("SELECT has_schema_privilege('public', 'CREATE')") == (False,)
    refused("UPDATE opsactions_auditentry SET actor_username = 'forger'")


def test_the_app_role_still_writes_through_the_services(trail, ops_admin):
    before = AuditEntry.objects.count()
    action = request_action(ops_admin, target="merchant:m_2")
    assert AuditEntry.objects.count() > before
    assert AuditEntry.objects.filter(action_id=action.pk).exists()
    assert OpsApproval.objects.filter(action=trail).count() == 1
    # Its state changes (the frozen fields do not: opsactions migration 0002).
    OpsAction.objects.filter(pk=action.pk).update(status="cancelled")
    assert audit_verify().ok
    for table in ("opsactions_auditentry", "opsactions_opsapproval", "opsactions_opsaction"):
        assert one("SELECT has_table_privilege(%s, 'INSERT')", [table]) == (True,)


def test_seen_partitions_are_created_and_expired_through_the_narrow_functions():
    day = datetime.now(UTC).date() + timedelta(days=40)
    name = seen_partition_name(day)
    with connection.cursor() as cur:
        assert create_seen_partition(cur, day) is True
        assert create_seen_partition(cur, day) is False  # idempotent
        assert name in list_partitions(cur, SEEN_TABLE)
        cur.execute(
            f"INSERT INTO {SEEN_TABLE} (event_id, occurred_day, seen_at) VALUES (%s, %s, now())",
            ["ev-roles-1", day],
        )
    assert one(f"SELECT count(*) FROM {name}") == (1,)
    assert one("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", [name]) == (
        roles()["owner"]["USER"],
    )
    refused(f"DROP TABLE {name}")
    # The drop function only takes a detached day partition.
    assert one("SELECT public.molam_seen_partition_drop(%s)", [day]) == (False,)
    assert one("SELECT public.molam_seen_partition_detach(%s)", [day]) == (True,)
    assert one("SELECT public.molam_seen_partition_drop(%s)", [day]) == (True,)
    assert one("SELECT to_regclass(%s)", [name]) == (None,)


@pytest.mark.parametrize(
    "sql, params",
    [
        ("SELECT public.molam_month_partition_create(%s, %s)", ["opsactions_auditentry", None]),
        (
            "SELECT public.molam_month_partition_create(%s, %s)",
            ["dashboard_hourly_aggregate; DROP TABLE opsactions_auditentry", date(2026, 1, 1)],
        ),
        (
            "SELECT public.molam_month_partition_create(%s, %s)",
            ["dashboard_hourly_aggregate", date(2026, 1, 15)],
        ),
        (
            "SELECT public.molam_month_partition_create(%s, %s)",
            ["dashboard_hourly_aggregate", date(2990, 1, 1)],
        ),
        ("SELECT public.molam_seen_partition_create(%s)", [None]),
        ("SELECT public.molam_seen_partition_create(%s)", [date(1999, 12, 31)]),
    ],
)
def test_the_narrow_functions_check_their_arguments(sql, params):
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    assert isinstance(info.value.__cause__, psycopg.errors.InvalidParameterValue)


def test_the_narrow_functions_are_the_owners_with_a_fixed_search_path():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.proname, pg_get_userbyid(p.proowner), p.prosecdef, p.proconfig, "
            "p.proacl::text FROM pg_proc p WHERE p.proname LIKE 'molam\\_%%' ORDER BY 1"
        )
        rows = cur.fetchall()
    assert [r[0] for r in rows] == sorted(f.split("(")[0] for f in dbroles.PARTITION_FUNCTIONS)
    for _, owner, secdef, config, acl in rows:
        assert (owner, secdef) == (roles()["owner"]["USER"], True)
        assert config == ["search_path=pg_catalog, pg_temp"]
        assert not acl.startswith("{=") and ",=" not in acl  # no EXECUTE for PUBLIC
        assert f"{roles()['app']['USER']}=X/" in acl


@pytest.mark.django_db(transaction=True)
def test_month_partitions_are_created_through_the_narrow_function():
    month = add_months(month_start(datetime.now(UTC).date()), 12)
    name = f"dashboard_hourly_aggregate_p{month:%Y%m}"
    with dbroles.as_owner(), connection.cursor() as cur:  # an empty partition, gone
        cur.execute(f"DROP TABLE IF EXISTS {name}")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            assert create_month_partition(cur, "dashboard_hourly_aggregate", month) is True
            assert create_month_partition(cur, "dashboard_hourly_aggregate", month) is False
        assert name in list_partitions(connection.cursor(), "dashboard_hourly_aggregate")
        refused(f"DROP TABLE {name}")
    finally:
        with dbroles.as_owner(), connection.cursor() as cur:
            cur.execute(
                "SELECT public.molam_month_partition_create('dashboard_hourly_aggregate', %s)",
                [month],
            )
