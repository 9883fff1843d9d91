from django.db import models

from accounts.choices import ScopeKind
from dashboard.choices import Source
from dashboard.snapshots.choices import DirtyReason


def _count():
    return models.BigIntegerField(default=0)


def _money():
    return models.DecimalField(max_digits=24, decimal_places=4, default=0)


class HourlyAggregate(models.Model):
    """One hour (UTC) of counted figures for one scope and one cut of dimensions.

    Range-partitioned by month on `bucket` (created by migration 0001, new
    partitions by `dashboard.tasks.maintain_partitions`). Written only by the
    ingestion upsert (dashboard/ingest/sql.py); region scopes are not stored:
    `region:CC` reads the platform rows of country CC.
    """

    pk = models.CompositePrimaryKey(
        "scope_kind", "scope_id", "bucket", "country", "region", "city", "currency", "source"
    )
    bucket = models.DateTimeField()
    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=64, blank=True, default="")
    city = models.CharField(max_length=64, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    source = models.CharField(max_length=8, choices=Source.choices)

    attempts = _count()
    success_count = _count()
    failed_count = _count()
    refunds_count = _count()
    disputes_count = _count()
    payouts_count = _count()
    payouts_failed_count = _count()
    fraud_count = _count()

    gmv = _money()
    fees = _money()
    revenue = _money()
    refunds_amount = _money()
    disputes_amount = _money()
    payouts_amount = _money()
    fraud_amount = _money()
    cash_in_amount = _money()
    cash_out_amount = _money()

    # Ingestion keeps GREATEST(existing, batch max); NULL on rows written before
    # migration 0005 (and on bulk loads that do not set it).
    last_event_at = models.DateTimeField(
        null=True, blank=True, help_text="Newest occurred_at of the events counted in this row."
    )

    class Meta:
        managed = False
        db_table = "dashboard_hourly_aggregate"


class DirtyChange(models.Model):
    """One change that a scope's rollups and snapshots have not taken in yet (append-only).

    Ingestion INSERTs one row per touched scope and batch, in the batch's
    transaction, with the batch's hour range of that scope; changes that alter
    figures without new events (FX rates) insert rows without a range. Writers
    never update or delete a row, and there is no unique key, so a batch never
    waits on a refresh. The refresh of a scope deletes exactly the rows it read
    (DELETE ... RETURNING), in the transaction that rewrites the rollups of
    their range and writes the snapshots: rows that arrive meanwhile stay.
    Region scopes are marked as ("region", country).
    """

    id = models.BigAutoField(primary_key=True)
    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")
    min_bucket = models.DateTimeField(null=True, blank=True, help_text="First changed hour.")
    max_bucket = models.DateTimeField(null=True, blank=True, help_text="Last changed hour.")
    reason = models.CharField(max_length=16, choices=DirtyReason.choices)
    marked_at = models.DateTimeField()

    class Meta:
        db_table = "dashboard_dirty_change"
        indexes = [
            # Readers take min(min_bucket)/max(max_bucket) of one scope from the index alone.
            models.Index(
                fields=["scope_kind", "scope_id"],
                include=["min_bucket", "max_bucket"],
                name="dirty_change_scope",
            ),
        ]


class DirtyScope(models.Model):
    """Read-only view: the pending changes of each scope, summed up (one row per scope).

    `min_bucket`/`max_bucket` span the pending hour ranges (NULL when only
    range-less changes are pending), `marked_at` is the newest change.
    """

    pk = models.CompositePrimaryKey("scope_kind", "scope_id")
    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")
    min_bucket = models.DateTimeField(null=True)
    max_bucket = models.DateTimeField(null=True)
    marked_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "dashboard_dirtyscope"
