"""The overview document's schema (../shared/contracts/api.md, docs/snapshots.md).

Used for the OpenAPI schema only: the view returns the pre-serialized bytes of the
snapshot (dashboard/snapshots/compute.py writes them) and never serializes them again.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.snapshots.compute import CONVERTED_FIGURES


def _money(**kwargs):
    """An exact decimal string: up to 4 places, no exponent, no trailing zeros ("0")."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=4, coerce_to_string=True, **kwargs
    )


def _figures(name, field, names, doc):
    return type(name, (serializers.Serializer,), {"__doc__": doc, **{n: field() for n in names}})


OverviewCounts = _figures(
    "OverviewCounts", serializers.IntegerField, COUNT_FIGURES, "Event counts, all currencies."
)
OverviewAmounts = _figures(
    "OverviewAmounts", _money, MONEY_FIGURES, 'Money figures of one currency (zero as "0").'
)
OverviewChangeCounts = _figures(
    "OverviewChangeCounts",
    lambda: serializers.FloatField(allow_null=True),
    COUNT_FIGURES,
    "Relative change of each count against the previous period (null when it was 0).",
)
OverviewChangeConverted = _figures(
    "OverviewChangeConverted",
    lambda: serializers.FloatField(allow_null=True),
    CONVERTED_FIGURES,
    "Relative change of each converted figure (null when the previous one was 0).",
)


class OverviewRates(serializers.Serializer):
    """Ratios; null for a zero denominator (fraud_rate_bps: also while a rate is missing)."""

    conversion_rate = serializers.FloatField(allow_null=True)
    success_rate = serializers.FloatField(allow_null=True)
    fraud_rate_bps = serializers.FloatField(allow_null=True)


class OverviewConverted(serializers.Serializer):
    """GMV, revenue and fraud in the reporting currency, each day at its rate."""

    currency = serializers.CharField()
    gmv = _money()
    revenue = _money()
    fraud_amount = _money()
    missing_rates = serializers.ListField(
        child=serializers.CharField(), help_text="Currencies left out: no rate for a day."
    )


class OverviewFigures(serializers.Serializer):
    counts = OverviewCounts()
    amounts = serializers.DictField(child=OverviewAmounts(), help_text="Per currency seen.")
    rates = OverviewRates()
    converted = OverviewConverted()


class OverviewPrevious(OverviewFigures):
    """The same figures over the equal span just before the period."""

    from_ = serializers.DateTimeField()
    to = serializers.DateTimeField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class OverviewChange(serializers.Serializer):
    counts = OverviewChangeCounts()
    converted = OverviewChangeConverted()


class OverviewTopCountry(serializers.Serializer):
    country = serializers.CharField()
    gmv = _money(help_text="Converted GMV.")
    currency = serializers.CharField()
    missing_rates = serializers.ListField(child=serializers.CharField())


class OverviewTopMerchant(serializers.Serializer):
    merchant_id = serializers.CharField()
    gmv = _money(help_text="Converted GMV.")
    currency = serializers.CharField()
    missing_rates = serializers.ListField(child=serializers.CharField())


class OverviewPoint(serializers.Serializer):
    t = serializers.DateTimeField()
    value = _money()


class OverviewSparkline(serializers.Serializer):
    """Converted GMV per hour of the period, zero-filled."""

    metric = serializers.CharField()
    currency = serializers.CharField()
    points = OverviewPoint(many=True)


class StaleReason:
    DATABASE_UNAVAILABLE = "database_unavailable"
    REFRESH_PENDING = "refresh_pending"


@extend_schema_serializer(component_name="Overview")
class OverviewSerializer(OverviewFigures):
    """Precomputed figures of one scope and period."""

    stale = serializers.BooleanField(
        help_text="The figures may be behind: older than two refresh intervals, made wrong "
        "by a later change (new FX rates), or served while a refresh is pending."
    )
    degraded = serializers.BooleanField(
        required=False, help_text="Present (true) while the database cannot be reached."
    )
    stale_reason = serializers.ChoiceField(
        choices=[StaleReason.DATABASE_UNAVAILABLE, StaleReason.REFRESH_PENDING],
        required=False,
        help_text="Present when the answer is known to be behind for one of these reasons.",
    )
    scope = serializers.CharField()
    period = serializers.ChoiceField(choices=SnapshotPeriod.values)
    from_ = serializers.DateTimeField()
    to = serializers.DateTimeField()
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="Newest event counted in the period (null: none)."
    )
    computed_at = serializers.DateTimeField()
    float = serializers.DictField(
        child=_money(), help_text="Latest agent balances in scope, summed per currency."
    )
    previous = OverviewPrevious()
    change = OverviewChange()
    top_countries = OverviewTopCountry(many=True)
    top_merchants = OverviewTopMerchant(many=True)
    sparkline = OverviewSparkline()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return {name: fields[name] for name in _DOCUMENT_ORDER}


# The order of the stored document (dashboard/snapshots/compute.py).
_DOCUMENT_ORDER = (
    "stale", "degraded", "stale_reason", "scope", "period", "from", "to", "as_of",
    "computed_at", "counts", "amounts", "float", "rates", "converted", "previous", "change",
    "top_countries", "top_merchants", "sparkline",
)  # fmt: skip


@extend_schema_serializer(component_name="DashboardError")
class ErrorSerializer(serializers.Serializer):
    """The project's error shape (common/api.py): `errors` names each bad field of a 400."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
