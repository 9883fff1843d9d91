"""Periodic ingestion jobs; registered under dashboard.tasks.* names (see dashboard/tasks.py)."""

from celery import shared_task

from dashboard.ingest.maintenance import partitions_maintain, retention_enforce

__all__ = ["enforce_retention", "maintain_partitions"]


@shared_task(name="dashboard.tasks.maintain_partitions", ignore_result=True)
def maintain_partitions():
    """Hourly: drop seen-id partitions past retention, create the coming partitions."""
    return partitions_maintain()


@shared_task(name="dashboard.tasks.enforce_retention", ignore_result=True)
def enforce_retention():
    """Daily: delete dead letters and figures past their retention (docs/retention.md)."""
    return retention_enforce()
