"""Periodic jobs of the dashboard app, driven by Celery beat (see CELERY_BEAT_SCHEDULE)."""

import time

from celery import shared_task

from dashboard.health import BEAT_TICK_KEY, redis_client


@shared_task(ignore_result=True)
def beat_heartbeat():
    """Record that beat scheduled a task and a worker ran it (read by the health check)."""
    redis_client(timeout=2).set(BEAT_TICK_KEY, repr(time.time()))


# Tasks of each area are defined in its own module with an explicit
# name="dashboard.tasks.<name>" and imported here so the worker registers them.
from dashboard.ingest.tasks import *  # noqa: E402, F403
from dashboard.snapshots.tasks import *  # noqa: E402, F403
