"""Periodic jobs of the accounts app (scheduled by CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task

from accounts.revocation import auth_changes_check, auth_changes_prune, expired_tokens_flush

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.flush_expired_tokens", ignore_result=True)
def flush_expired_tokens():
    """Forget refresh tokens past their expiry (issued and blacklisted alike)."""
    logger.info("expired refresh tokens flushed: %s rows", expired_tokens_flush())
    logger.info("old auth change rows pruned: %s", auth_changes_prune())


@shared_task(name="accounts.tasks.check_auth_changes", ignore_result=True)
def check_auth_changes():
    """Void every identity copy when the database says users, groups or permissions changed
    (also by a bulk update or raw SQL, which no signal reports)."""
    if auth_changes_check():
        logger.info("users, groups or permissions changed: identity copies voided")
