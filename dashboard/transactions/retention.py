"""Partition upkeep of the transactions table (beat: maintain_transaction_partitions)."""

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from common.db import bound_cursor
from dashboard.transactions import sql

log = logging.getLogger("dashboard.transactions")


def transaction_partitions_maintain(*, now=None, retention_days=None):
    """Create today's and the coming days' partitions; drop whole day partitions older
    than the retention (TRANSACTIONS_RETENTION_DAYS) and delete the default partition's
    rows older than it. Returns {"created", "dropped", "default_deleted"}."""
    now = now or datetime.now(UTC)
    retention = retention_days or settings.TRANSACTIONS_RETENTION_DAYS
    with transaction.atomic():
        cursor = bound_cursor()
        created = sql.partitions_ahead(
            cursor, settings.TRANSACTIONS_PARTITIONS_AHEAD_DAYS, today=now.date()
        )
        dropped, deleted = sql.partitions_expire(cursor, retention, today=now.date())
    if dropped:
        # The process cache must not believe a dropped day still has its partition.
        sql.partitions_forget_cache()
    report = {"created": created, "dropped": dropped, "default_deleted": deleted}
    log.info("transaction partitions maintained: %s", report)
    return report
