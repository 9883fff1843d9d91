"""Periodic jobs of the accounts app (scheduled by CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task

from accounts.revocation import expired_tokens_flush

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.flush_expired_tokens", ignore_result=True)
def flush_expired_tokens():
    """Forget refresh tokens past their expiry (issued and blacklisted alike)."""
    logger.info("expired refresh tokens flushed: %s rows", expired_tokens_flush())
