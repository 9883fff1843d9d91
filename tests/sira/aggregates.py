"""Constructed hourly aggregates for the SIRA tests (written straight to the table)."""

from decimal import Decimal

from dashboard.models.aggregates import HourlyAggregate


def agg(bucket, scope_kind, scope_id, *, country="SN", currency="XOF", source="connect", **figures):
    """One aggregate row; money figures as Decimal-able strings, counts as ints."""
    values = {
        k: Decimal(str(v)) if "amount" in k or k in ("gmv", "fees", "revenue") else v
        for k, v in figures.items()
    }
    return HourlyAggregate(
        bucket=bucket,
        scope_kind=scope_kind,
        scope_id=scope_id,
        country=country,
        currency=currency,
        source=source,
        **values,
    )


def write(rows):
    HourlyAggregate.objects.bulk_create(rows)
