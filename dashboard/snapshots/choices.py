"""Choices of the snapshots area."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SnapshotPeriod(models.TextChoices):
    TODAY = "today", _("Today (UTC)")
    H24 = "24h", _("Last 24 hours")
    D7 = "7d", _("Last 7 days")
    D30 = "30d", _("Last 30 days")


class Granularity(models.TextChoices):
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class DirtyReason(models.TextChoices):
    """Why a scope's snapshots must be recomputed (a `DirtyChange` row).

    `events`: ingestion counted events in the change's hour range (new data:
    the snapshot lags by at most a refresh, within the freshness promise).
    `fx_rates`: rates used by the scope's converted figures changed; figures
    already shown are wrong, so the overview says `stale: true` until refreshed.
    """

    EVENTS = "events", _("Events counted")
    FX_RATES = "fx_rates", _("FX rates changed")
