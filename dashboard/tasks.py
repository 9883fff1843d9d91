"""Periodic jobs of the dashboard app, driven by Celery beat (see CELERY_BEAT_SCHEDULE).

Each task runs under the name of this module and only calls the service of its area
(ingestion maintenance, snapshot refresh), where the work and its tests live.
"""

import time

from celery import shared_task

from dashboard.health import BEAT_TICK_KEY, redis_client
from dashboard.ingest.maintenance import partitions_maintain, retention_enforce
from dashboard.snapshots.refresh import (
    snapshots_refresh_all,
    snapshots_refresh_batch,
    snapshots_refresh_dirty,
)
from dashboard.transactions.retention import transaction_partitions_maintain


@shared_task(ignore_result=True)
def beat_heartbeat():
    """Record that beat scheduled a task and a worker ran it (read by the health check)."""
    redis_client(timeout=2).set(BEAT_TICK_KEY, repr(time.time()))


@shared_task(ignore_result=True)
def refresh_dirty_snapshots():
    """Every SNAPSHOT_REFRESH_INTERVAL_S: scopes marked dirty by ingestion, ended windows."""
    return snapshots_refresh_dirty()


@shared_task(ignore_result=True)
def refresh_all_snapshots():
    """Every SNAPSHOT_FULL_REFRESH_INTERVAL_S: every active scope, in chunks over the workers."""
    return snapshots_refresh_all(dispatch=lambda pairs: refresh_snapshot_batch.delay(pairs))


@shared_task(ignore_result=True)
def refresh_snapshot_batch(pairs):
    """One chunk of the full refresh: a list of [scope_kind, scope_id] (ids, not objects)."""
    return snapshots_refresh_batch(pairs=[tuple(p) for p in pairs])


@shared_task(ignore_result=True)
def maintain_partitions():
    """Hourly: drop seen-id partitions past retention, create the coming partitions."""
    return partitions_maintain()


@shared_task(ignore_result=True)
def enforce_retention():
    """Daily: delete dead letters and figures past their retention (docs/retention.md)."""
    return retention_enforce()


@shared_task(ignore_result=True)
def maintain_transaction_partitions():
    """Hourly: create the coming days' transaction partitions, drop days past retention."""
    return transaction_partitions_maintain()
