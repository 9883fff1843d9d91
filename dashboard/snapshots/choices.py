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
