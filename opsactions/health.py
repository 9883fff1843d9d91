"""Health check of the ops-command outbox: commands waiting too long mean the relay is down."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from opsactions.models import OutboxMessage


def outbox_stale_after():
    """Ten relay intervals, at least a minute."""
    return timedelta(seconds=max(60, 10 * settings.OUTBOX_RELAY_INTERVAL_S))


def outbox_health():
    """(ok, info): ok while no unsent command is older than `outbox_stale_after()`."""
    agg = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(
        pending=Count("id"), oldest=Min("created_at")
    )
    age = (timezone.now() - agg["oldest"]).total_seconds() if agg["oldest"] else 0.0
    ok = age <= outbox_stale_after().total_seconds()
    return ok, {"pending": agg["pending"], "oldest_age_s": round(age, 1)}
