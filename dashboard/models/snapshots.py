"""Snapshot, FX-rate and rollup models (dashboard/snapshots owns them).

The rollup tables (dashboard_scope_hourly, dashboard_scope_daily) are plain SQL
tables created by migration 0004 and written only by dashboard/snapshots/sql.py.
"""

from django.db import models

from accounts.choices import ScopeKind
from dashboard.snapshots.choices import SnapshotPeriod

__all__ = ["FxRate", "Snapshot"]


class FxRate(models.Model):
    """How many units of `quote_currency` one unit of `currency` was worth on `rate_date`.

    A rate applies from its date until the next rate of the same pair; a day
    with no rate on or before it has no conversion (flagged as missing).
    """

    currency = models.CharField(max_length=3)
    quote_currency = models.CharField(max_length=3)
    rate_date = models.DateField()
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_fx_rate"
        ordering = ["currency", "quote_currency", "-rate_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "quote_currency", "rate_date"], name="fx_rate_unique_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self):
        return f"1 {self.currency} = {self.rate} {self.quote_currency} on {self.rate_date}"


class Snapshot(models.Model):
    """The precomputed overview of one scope and period: the exact JSON served by the API.

    `body` is the serialized payload (JSON text, `"stale": false` first) so a
    cache miss serves it without re-serializing; Redis holds the same bytes.
    """

    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")
    period = models.CharField(max_length=8, choices=SnapshotPeriod.choices)
    body = models.TextField()
    window_to = models.DateTimeField(help_text="End of the period window (next hour boundary).")
    as_of = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "dashboard_snapshot"
        constraints = [
            models.UniqueConstraint(
                fields=["scope_kind", "scope_id", "period"], name="snapshot_unique_scope_period"
            )
        ]
        indexes = [
            models.Index(fields=["computed_at"], name="snapshot_computed_at"),
            models.Index(fields=["window_to"], name="snapshot_window_to"),
        ]

    def __str__(self):
        scope = self.scope_kind if not self.scope_id else f"{self.scope_kind}:{self.scope_id}"
        return f"{scope} {self.period} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"
