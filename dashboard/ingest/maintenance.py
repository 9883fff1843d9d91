"""Partition upkeep of the ingestion tables (run hourly by dashboard.tasks.maintain_partitions)."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from dashboard.ingest import sql
from dashboard.partitions import (
    add_months,
    create_month_partition,
    month_start,
    seen_partition_name,
)

log = logging.getLogger("dashboard.ingest.maintenance")

SEEN_DAYS_AHEAD = 3
AGGREGATE_MONTHS_AHEAD = 3


def partitions_maintain(*, now=None):
    """Expire old seen-id partitions (keeping ids first seen within the retention),
    and create the coming days' seen-id partitions and months' aggregate partitions.

    Idempotent; each step is its own short transaction with a lock timeout so it
    never holds up ingestion for long (a step that times out is retried next run)."""
    now = now or datetime.now(UTC)
    retention = settings.SEEN_EVENT_RETENTION_DAYS
    report = {"dropped": [], "created": []}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '10s'")
        report["dropped"] = sql.seen_partitions_expire(cur, retention, now)
    start = sql.seen_window_start(retention, now.date())
    days = [
        start + timedelta(days=n) for n in range((now.date() - start).days + SEEN_DAYS_AHEAD + 1)
    ]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '10s'")
        existing = set(_partitions(cur, sql.SEEN_TABLE))
        missing = [d for d in days if seen_partition_name(d) not in existing]
        sql.seen_partitions_ensure(cur, missing)
        report["created"] += [
            seen_partition_name(d)
            for d in missing
            if seen_partition_name(d) in _partitions(cur, sql.SEEN_TABLE)
        ]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '10s'")
        existing = set(_partitions(cur, sql.AGG_TABLE))
        month = month_start(now.date())
        for n in range(AGGREGATE_MONTHS_AHEAD + 1):
            m = add_months(month, n)
            name = f"{sql.AGG_TABLE}_p{m:%Y%m}"
            if name in existing:
                continue
            cur.execute("SAVEPOINT agg_partition")
            try:
                create_month_partition(cur, sql.AGG_TABLE, m)
            except Exception:
                # The default partition already holds rows of that month: they
                # stay there (still correct, only less prunable); say so loudly.
                cur.execute("ROLLBACK TO SAVEPOINT agg_partition")
                log.exception("could not create aggregate partition %s", name)
            else:
                cur.execute("RELEASE SAVEPOINT agg_partition")
                report["created"].append(name)
    log.info("partitions maintained: %s", report)
    return report


def _partitions(cursor, table):
    from dashboard.partitions import list_partitions

    return list_partitions(cursor, table)


# ---------------------------------------------------------------- retention (docs/retention.md)
# Tables the figures are made of, by the column that dates a row: the raw hourly
# aggregates (partitioned by month: whole partitions dropped), the scope rollups
# and the GMV per bank and merchant (plain tables: rows deleted).
AGGREGATE_ROLLUP_TABLES = ("dashboard_scope_hourly", "dashboard_scope_daily",
                           "dashboard_bank_merchant_hourly")  # fmt: skip
RETENTION_BATCH = 5000


def dead_letters_expire(*, now=None, batch=RETENTION_BATCH):
    """Delete the dead letters received more than DEAD_LETTER_RETENTION_DAYS ago.

    Whatever their status: by then a pending one is past any replay (its copy is
    on the DLQ topic while the topic keeps it). In batches of `batch`, one short
    transaction each, so a large backlog never holds a long lock. -> rows deleted."""
    from dashboard.models import DeadLetter

    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=settings.DEAD_LETTER_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                DeadLetter.objects.filter(received_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                break
            deleted += DeadLetter.objects.filter(id__in=ids).delete()[0]
    if deleted:
        log.info("dead letters received before %s deleted: %d", cutoff, deleted)
    return deleted


def aggregates_expire(*, now=None):
    """Drop the figures older than AGGREGATE_RETENTION_MONTHS whole months before this one.

    Monthly partitions of the hourly aggregates wholly before the cutoff are
    detached and dropped (no row-by-row delete); rows of that age in the default
    partition, the rollups and the GMV per bank and merchant are deleted.
    -> {"dropped": [partition names], "deleted": rows deleted}."""
    now = now or datetime.now(UTC)
    keep_from = add_months(month_start(now.date()), -settings.AGGREGATE_RETENTION_MONTHS)
    cutoff = datetime(keep_from.year, keep_from.month, 1, tzinfo=UTC)
    report = {"cutoff": cutoff.isoformat(), "dropped": [], "deleted": 0}
    prefix = f"{sql.AGG_TABLE}_p"
    with connection.cursor() as cur:
        names = _partitions(cur, sql.AGG_TABLE)
    for name in names:
        if not name.startswith(prefix):
            continue
        try:
            month = datetime.strptime(name[len(prefix) :], "%Y%m").date()
        except ValueError:
            continue
        if month >= keep_from:
            continue
        # Through the owner's narrow function: the application role owns no table
        # (docs/database-roles.md); it drops only months wholly in the past.
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '10s'")
            cur.execute("SELECT public.molam_month_partition_drop(%s, %s)", [sql.AGG_TABLE, month])
            dropped = cur.fetchone()[0]
        if dropped:
            report["dropped"].append(name)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '10s'")
        cur.execute(f"DELETE FROM {sql.AGG_TABLE} WHERE bucket < %s", [cutoff])
        report["deleted"] += cur.rowcount
        for table in AGGREGATE_ROLLUP_TABLES:
            cur.execute(f"DELETE FROM {table} WHERE bucket < %s", [cutoff])
            report["deleted"] += cur.rowcount
    if report["dropped"] or report["deleted"]:
        log.info("figures before %s expired: %s", cutoff, report)
    return report


def retention_enforce(*, now=None):
    """The daily retention job: dead letters and figures past their retention.

    Never touches the audit trail or the ops actions and approvals (kept 10
    years, never deleted by the application: docs/retention.md); seen ids and
    agent history have their own hourly jobs."""
    now = now or datetime.now(UTC)
    return {
        "dead_letters": dead_letters_expire(now=now),
        "aggregates": aggregates_expire(now=now),
    }
