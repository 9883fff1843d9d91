"""Choices of the snapshots area."""

from django.db import models


class SnapshotPeriod(models.TextChoices):
    TODAY = "today", "Today (UTC)"
    H24 = "24h", "Last 24 hours"
    D7 = "7d", "Last 7 days"
    D30 = "30d", "Last 30 days"


class Granularity(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
