"""Restore drill: a backup made by scripts/backup.sh restores into a new database that holds
exactly the source's figures and an audit chain that verifies.

Data goes in through the real ingestion path (the consumer's batch service, with
duplicates and one invalid event per dead-letter reason) and the real ops-action
services (audit entries, approvals); `scripts/backup.sh backup` dumps the test
database (pg_dump custom format) and `scripts/backup.sh restore FILE --into NAME`
restores it into a new database, dropped at the end.
"""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from common import dbroles
from dashboard.ingest.services import ingest
from opsactions import services as ops
from opsactions.models import AuditEntry
from tests import e2e_reference as ref

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

# Every table of the product's apps (partitioned parents read whole, partitions not twice).
_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "AND c.relname ~ '^(dashboard|agents|opsactions|accounts)_' ORDER BY 1"
)


def _digest(cur, table):
    cur.execute(
        f'SELECT count(*), md5(string_agg(t::text, chr(10) ORDER BY t::text)) FROM "{table}" t'
    )
    return cur.fetchone()


def _url(name):
    s = connection.settings_dict
    return f"postgis://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{name}"


def _backup_sh(*args, database):
    env = {**os.environ, "DATABASE_URL": _url(database)}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "backup.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_restore_drill_audit_verifies_and_every_figure_equals_the_source(
    ops_admin, approver_b, pay_admin, tmp_path
):
    # Data through the real paths: events (two delivery phases, duplicates, invalid ones) ...
    generated = ref.generate(datetime.now(UTC), n_business=600, floats_per_agent=5)
    for phase in generated.phases:
        result = ingest([raw for _kind, _key, raw in phase])
        assert result.counted > 0
    # ... and ops actions with their audit entries and approvals.
    action = ops.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_1",
        params={"reason_code": "fraud_suspected"},
        reason="restore drill",
    )
    ops.action_approve(actor=approver_b, action_id=action.pk, comment="checked")
    ops.action_reject(actor=pay_admin, action_id=action.pk, reason="drill")
    assert AuditEntry.objects.count() >= 3

    source = connection.settings_dict["NAME"]
    with connection.cursor() as cur:
        cur.execute(_TABLES)
        tables = [r[0] for r in cur.fetchall()]
        before = {t: _digest(cur, t) for t in tables}
    for table in ("dashboard_hourly_aggregate", "dashboard_dead_letter", "opsactions_auditentry"):
        assert before[table][0] > 0, table

    dump = tmp_path / "drill.dump"
    done = _backup_sh("backup", str(dump), database=source)
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0
    restored = f"{source}_restored_{uuid.uuid4().hex[:6]}"
    try:
        done = _backup_sh("restore", str(dump), "--into", restored, database=source)
        assert done.returncode == 0, done.stderr

        # The restored database, through the product's own audit check.
        env = {**os.environ, "DATABASE_URL": _url(restored), "DJANGO_ENV": "test"}
        env.pop("TEST_DATABASE_NAME", None)
        check = subprocess.run(
            [sys.executable, "manage.py", "verify_audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stderr
        assert check.stdout.startswith(f"OK: {before['opsactions_auditentry'][0]} audit rows")

        # Every row of every table (figures, rollups, seen ids, dead letters, audit) equal.
        s = connection.settings_dict
        with (
            psycopg.connect(
                host=s["HOST"],
                port=s["PORT"],
                user=s["USER"],
                password=s["PASSWORD"],
                dbname=restored,
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(_TABLES)
            assert [r[0] for r in cur.fetchall()] == tables
            after = {t: _digest(cur, t) for t in tables}
        assert after == before
    finally:
        # The restored database belongs to the source's owner (the application role
        # owns nothing: docs/database-roles.md).
        with dbroles.as_owner() as owner, owner.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [restored],
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{restored}"')
