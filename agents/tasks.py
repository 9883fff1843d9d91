"""Periodic jobs of the agents app (scheduled by CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task

from agents.services import agent_history_prune, agent_map_refresh

logger = logging.getLogger(__name__)


@shared_task(name="agents.tasks.refresh_agent_map", ignore_result=True)
def refresh_agent_map():
    """Age sales_24h out of the window and rebuild the map's cluster grid."""
    result = agent_map_refresh()
    logger.info("agent map refreshed: %s", result)


@shared_task(name="agents.tasks.prune_agent_history", ignore_result=True)
def prune_agent_history():
    """Drop hourly float/sales history past the retention period."""
    deleted = agent_history_prune()
    logger.info("agent history pruned: %s rows", deleted)
