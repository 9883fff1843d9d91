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
