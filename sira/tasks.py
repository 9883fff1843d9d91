"""Celery tasks of SIRA (names fixed by the beat schedule in settings)."""

import logging

from celery import shared_task

from sira.advisor import advisor_run
from sira.services import recommendations_expire

logger = logging.getLogger(__name__)


@shared_task(name="sira.tasks.expire_recommendations")
def expire_recommendations():
    """Expire `new` recommendations past their valid_until."""
    count = recommendations_expire()
    if count:
        logger.info("expired %d SIRA recommendations", count)
    return count


@shared_task(name="sira.tasks.run_baseline_advisor")
def run_baseline_advisor():
    """The built-in advisor's hourly pass."""
    return len(advisor_run())
