"""Agent map API: query-parameter validation and GeoJSON output (djangorestframework-gis)."""

import math
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from agents.choices import AgentStatus
from agents.models import Agent
from agents.selectors import MAX_ZOOM, BBox

MAX_RADIUS_M = 50_000
MAX_LIMIT = 500
# Four plain decimal numbers (what the map sends: toFixed(5)); the schema states the
# same pattern, so "1e3", "+1", " 1", "inf" or "nan" are refused here as there.
_NUMBER = r"-?[0-9]{1,3}(\.[0-9]{1,15})?"
BBOX_PATTERN = rf"^{_NUMBER}(,{_NUMBER}){{3}}$"


class FullMatchValidator(RegexValidator):
    """A RegexValidator (so the schema shows its pattern) that matches the whole value:
    Python's "$" would also accept a trailing newline, which the schema's pattern refuses."""

    def __call__(self, value):
        if not self.regex.fullmatch(str(value)):
            raise ValidationError(self.message, code=self.code, params={"value": value})


def money(value):
    """A Decimal as a plain decimal string without exponent or padding zeros."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def money_by_currency(values):
    return {currency: money(amount) for currency, amount in sorted(values.items())}


class MoneyField(serializers.Field):
    """Read-only exact money: a decimal string, never a binary float."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return money(value)


class FiniteFloatField(serializers.FloatField):
    """A float query parameter that refuses NaN and infinities."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("A finite number is required.")
        return value


class NearbyParamsSerializer(serializers.Serializer):
    """?lat=&lon=&radius_m=&limit=&status=&low_float= for /agents/nearby."""

    lat = FiniteFloatField(min_value=-90, max_value=90)
    lon = FiniteFloatField(min_value=-180, max_value=180)
    radius_m = FiniteFloatField(
        required=False,
        min_value=1,
        max_value=MAX_RADIUS_M,
        help_text="Search radius in metres (at most 50 km); without it, the `limit` nearest.",
    )
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=MAX_LIMIT)
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)
    low_float = serializers.BooleanField(required=False, default=False)


class ClustersParamsSerializer(serializers.Serializer):
    """?bbox=minLon,minLat,maxLon,maxLat&zoom= for /agents/clusters."""

    bbox = serializers.CharField(
        help_text="minLon,minLat,maxLon,maxLat (WGS84 degrees): four decimal numbers, "
        "longitudes in -180..180, latitudes in -90..90, minLon < maxLon and minLat < maxLat "
        "(split a viewport crossing the antimeridian in two). A viewport too large for its "
        "zoom is answered at a coarser grid level.",
        trim_whitespace=False,
        validators=[
            FullMatchValidator(
                BBOX_PATTERN,
                message="bbox must be four numbers: minLon,minLat,maxLon,maxLat.",
                code="invalid",
            )
        ],
    )
    zoom = serializers.IntegerField(min_value=0, max_value=MAX_ZOOM)

    def validate_bbox(self, value):
        parts = value.split(",")
        if len(parts) != 4:
            raise serializers.ValidationError(
                "bbox must be four numbers: minLon,minLat,maxLon,maxLat."
            )
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise serializers.ValidationError("bbox values must be numbers.")
        numbers = (min_lon, min_lat, max_lon, max_lat)
        if not all(math.isfinite(n) for n in numbers):
            raise serializers.ValidationError("bbox values must be finite numbers.")
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            raise serializers.ValidationError("bbox longitudes must be within -180..180.")
        if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise serializers.ValidationError("bbox latitudes must be within -90..90.")
        if min_lon >= max_lon or min_lat >= max_lat:
            raise serializers.ValidationError(
                "bbox needs minLon < maxLon and minLat < maxLat "
                "(split a viewport crossing the antimeridian in two)."
            )
        return BBox(min_lon, min_lat, max_lon, max_lat)


class DetailParamsSerializer(serializers.Serializer):
    hours = serializers.IntegerField(required=False, default=48, min_value=1, max_value=24 * 31)


class AgentFeatureSerializer(GeoFeatureModelSerializer):
    """An agent as a GeoJSON Feature (id = agent_id); `distance_m` when from a nearby search."""

    float_balance = MoneyField()
    float_limit = MoneyField()
    low_float_threshold = MoneyField()
    sales_24h = MoneyField()
    low_float = serializers.BooleanField(source="is_low_float", read_only=True)
    distance_m = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        geo_field = "location"
        id_field = "agent_id"
        fields = [
            "agent_id",
            "country",
            "region",
            "city",
            "status",
            "currency",
            "float_balance",
            "float_updated_at",
            "float_limit",
            "low_float_threshold",
            "low_float",
            "last_seen_at",
            "sales_24h",
            "distance_m",
        ]

    def get_distance_m(self, agent) -> float | None:
        distance = getattr(agent, "distance_m", None)
        return None if distance is None else round(distance, 2)
