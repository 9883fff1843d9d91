"""Celery tasks of ops actions (names fixed by the beat schedule in settings)."""

import logging

from celery import shared_task

from opsactions.outbox import outbox_relay
from opsactions.services import actions_expire_pending, actions_rollback_due

logger = logging.getLogger(__name__)


@shared_task(name="opsactions.tasks.expire_pending_actions")
def expire_pending_actions():
    """Expire pending actions whose approval window has closed."""
    count = actions_expire_pending()
    if count:
        logger.info("expired %d pending ops actions", count)
    return count


@shared_task(name="opsactions.tasks.rollback_due_actions")
def rollback_due_actions():
    """Roll back executed actions whose `expires_after` duration has ended."""
    done, refused = actions_rollback_due()
    if done or refused:
        logger.info("auto-rollback: %d rolled back, %d refused", done, refused)
    return {"rolled_back": done, "refused": refused}


@shared_task(name="opsactions.tasks.relay_outbox")
def relay_outbox():
    """Publish pending outbox commands to Kafka ops.commands."""
    sent, failed = outbox_relay()
    return {"sent": sent, "failed": failed}
