"""Periodic ingestion jobs; registered under dashboard.tasks.* names (see dashboard/tasks.py)."""

from celery import shared_task

from dashboard.ingest.maintenance import partitions_maintain

__all__ = ["maintain_partitions"]


@shared_task(name="dashboard.tasks.maintain_partitions", ignore_result=True)
def maintain_partitions():
    """Hourly: drop seen-id partitions past retention, create the coming partitions."""
    return partitions_maintain()
