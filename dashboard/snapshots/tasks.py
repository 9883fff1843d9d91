"""Snapshot refresh jobs; registered under dashboard.tasks.* names (see dashboard/tasks.py)."""

from celery import shared_task

from dashboard.snapshots.refresh import (
    snapshots_refresh_all,
    snapshots_refresh_batch,
    snapshots_refresh_dirty,
)

__all__ = ["refresh_all_snapshots", "refresh_dirty_snapshots", "refresh_snapshot_batch"]


@shared_task(name="dashboard.tasks.refresh_dirty_snapshots", ignore_result=True)
def refresh_dirty_snapshots():
    """Every SNAPSHOT_REFRESH_INTERVAL_S: scopes marked dirty by ingestion, ended windows."""
    return snapshots_refresh_dirty()


@shared_task(name="dashboard.tasks.refresh_all_snapshots", ignore_result=True)
def refresh_all_snapshots():
    """Every SNAPSHOT_FULL_REFRESH_INTERVAL_S: every active scope, in chunks over the workers."""
    return snapshots_refresh_all(dispatch=lambda pairs: refresh_snapshot_batch.delay(pairs))


@shared_task(name="dashboard.tasks.refresh_snapshot_batch", ignore_result=True)
def refresh_snapshot_batch(pairs):
    """One chunk of the full refresh: a list of [scope_kind, scope_id] (ids, not objects)."""
    return snapshots_refresh_batch(pairs=[tuple(p) for p in pairs])
