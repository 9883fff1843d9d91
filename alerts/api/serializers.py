"""Request and answer shapes of /api/dashboard/alerts (contract: shared/contracts/api.md)."""

from datetime import timedelta

from django.utils.dateparse import parse_duration
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.scope import Scope, ScopeSyntaxError
from alerts.choices import AlertCategory, ContactKind, Severity
from alerts.metrics import EACH_KINDS, metric_kind, metric_names
from alerts.models import (
    CONTACT_POINT_FIELDS,
    Alert,
    AlertEvent,
    AlertRule,
    ContactPoint,
    NotificationDelivery,
    SeriesTransition,
    Silence,
)

# Decimals as strings without trailing zeros ("212.5", "150"), like the contract.
_NUMBER = {
    "max_digits": 30,
    "decimal_places": 6,
    "read_only": True,
    "allow_null": True,
    "normalize_output": True,
}


class AlertSerializer(serializers.ModelSerializer):
    """An alert as the list renders it (also the widget's and the webhook's item)."""

    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    value = serializers.DecimalField(**_NUMBER)
    threshold = serializers.DecimalField(**_NUMBER)

    class Meta:
        model = Alert
        fields = [
            "id",
            "fingerprint",
            "rule",
            "source",
            "severity",
            "category",
            "scope",
            "labels",
            "title",
            "message",
            "value",
            "threshold",
            "status",
            "first_seen",
            "last_seen",
            "occurrences",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_at",
            "resolved_by",
            "silenced",
        ]
        read_only_fields = fields


class AlertErrorSerializer(serializers.Serializer):
    """The project's error shape (common/api.py)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


@extend_schema_field({"type": "string", "format": "duration", "example": "PT5M"})
class IsoDurationField(serializers.Field):
    """A timedelta as an ISO 8601 duration (PT5M), 0 to 31 days."""

    default_error_messages = {"invalid": "Use an ISO 8601 duration such as PT5M or PT1H."}

    def to_internal_value(self, data):
        iso = isinstance(data, str) and data.startswith("P")
        value = parse_duration(data) if iso else None
        if value is None or not timedelta(0) <= value <= timedelta(days=31):
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return iso_duration(value)


def iso_duration(value):
    """The shortest ISO 8601 form of a timedelta: PT5M, PT1H30M, P1D, PT0S."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")
    return text if text != "P" else "PT0S"


def _type_problem(field, value):
    """Why `value` has the wrong JSON type for `field` (DRF coerces 0 to "0", "5" to 5,
    1 to true: the schema says otherwise, so such input is a 400), or None."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        if not isinstance(field, serializers.MultipleChoiceField) and not isinstance(value, str):
            return "Must be a string."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "Must be an integer."
    if isinstance(field, serializers.DateTimeField) and not isinstance(value, str):
        return "Must be an ISO 8601 date-time string."
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            if problem := _type_problem(field.child, item):
                return problem
    if isinstance(field, serializers.DictField) and isinstance(value, dict):
        for item in value.values():
            if problem := _type_problem(field.child, item):
                return problem
    return None


class StrictTypesMixin:
    """Input serializers refuse values of the wrong JSON type instead of coercing them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if not field.read_only and name in data:
                    if problem := _type_problem(field, data[name]):
                        errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's also takes 0, 1, "yes", "on"...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": r"^-?\d{0,24}(?:\.\d{0,6})?$", "example": "150"},
            {"type": "number"},
        ]
    }
)
class NumberField(serializers.DecimalField):
    """A decimal given as a JSON string ("0.05") or number; answered as a string."""

    def __init__(self, **kw):
        kw.setdefault("max_digits", 30)
        kw.setdefault("decimal_places", 6)
        kw.setdefault("normalize_output", True)
        super().__init__(**kw)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class AlertEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    value = serializers.DecimalField(**_NUMBER)

    class Meta:
        model = AlertEvent
        fields = ["at", "kind", "actor", "comment", "value"]


class TransitionSerializer(serializers.ModelSerializer):
    value = serializers.DecimalField(**_NUMBER)
    threshold = serializers.DecimalField(**_NUMBER)

    class Meta:
        model = SeriesTransition
        fields = ["at", "from_state", "to_state", "value", "threshold"]


class AlertDetailSerializer(AlertSerializer):
    """An alert with its events and its series' evaluation history (why it fired)."""

    events = AlertEventSerializer(many=True, read_only=True)
    evaluation_history = serializers.SerializerMethodField()
    rule_key = serializers.SlugRelatedField(source="rule", slug_field="key", read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "rule_key", "events", "evaluation_history"]
        read_only_fields = fields

    @extend_schema_field(TransitionSerializer(many=True))
    def get_evaluation_history(self, obj):
        from alerts.selectors import alert_transitions

        return TransitionSerializer(alert_transitions(obj), many=True).data


class CommentSerializer(StrictTypesMixin, serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ManualAlertSerializer(StrictTypesMixin, serializers.Serializer):
    category = serializers.ChoiceField(choices=AlertCategory.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    scope = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, default=dict
    )
    dedupe_key = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate_scope(self, value):
        return _scope(value)


def _scope(value, *, each=False):
    if each and value.startswith("each:"):
        if value[5:] not in EACH_KINDS:
            raise serializers.ValidationError(f"Use each:{'|'.join(EACH_KINDS)}.")
        return value
    try:
        return str(Scope.parse(value))
    except ScopeSyntaxError as exc:
        raise serializers.ValidationError(exc.detail) from exc


class CountsSerializer(serializers.Serializer):
    info = serializers.IntegerField()
    warning = serializers.IntegerField()
    critical = serializers.IntegerField()


class CategoryCountsSerializer(serializers.Serializer):
    float = serializers.IntegerField()
    fraud = serializers.IntegerField()
    reconciliation = serializers.IntegerField()
    payout = serializers.IntegerField()
    system = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    by_severity = CountsSerializer()
    by_category = CategoryCountsSerializer()


class RuleSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """A rule; `window`, `for` and `keep_firing_for` are ISO 8601 durations."""

    window = IsoDurationField(required=False)
    keep_firing_for = IsoDurationField(required=False)
    threshold = NumberField()
    enabled = StrictBooleanField(required=False)
    inhibits = StrictBooleanField(required=False)
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, default=dict
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "key",
            "name",
            "metric",
            "scope",
            "comparator",
            "threshold",
            "baseline",
            "window",
            "for",
            "keep_firing_for",
            "no_data_state",
            "severity",
            "category",
            "labels",
            "inhibits",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_metric(self, value):
        if value not in metric_names():
            raise serializers.ValidationError(f"Unknown metric; one of {metric_names()}.")
        return value

    def validate_scope(self, value):
        return _scope(value, each=True)

    def validate(self, attrs):
        metric = attrs.get("metric", getattr(self.instance, "metric", None))
        scope = attrs.get("scope", getattr(self.instance, "scope", ""))
        kind = metric_kind(metric)
        if kind == "system" and scope != "platform":
            raise serializers.ValidationError({"scope": ["System metrics have scope platform."]})
        if kind == "agent" and not (
            scope == "each:agent" or scope.startswith(("agent:", "region:")) or scope == "platform"
        ):
            raise serializers.ValidationError(
                {"scope": ["Agent metrics: each:agent, agent:ID, region:CC or platform."]}
            )
        baseline = attrs.get("baseline", getattr(self.instance, "baseline", "none"))
        if baseline != "none" and kind != "aggregate":
            raise serializers.ValidationError(
                {"baseline": ["A baseline needs an aggregate metric (history of last week)."]}
            )
        return attrs


RuleSerializer._declared_fields["for"] = IsoDurationField(source="for_duration", required=False)


class PreviewRequestSerializer(StrictTypesMixin, serializers.Serializer):
    threshold = NumberField(required=False)
    scope = serializers.CharField(required=False, max_length=80)
    days = serializers.IntegerField(required=False, min_value=1, max_value=31, default=7)

    def validate_scope(self, value):
        return _scope(value)


class BacktestItemSerializer(serializers.Serializer):
    scope = serializers.CharField()
    fired_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    peak = serializers.DecimalField(max_digits=30, decimal_places=6, normalize_output=True)


class FiringNowSerializer(serializers.Serializer):
    scope = serializers.CharField()
    value = serializers.DecimalField(max_digits=30, decimal_places=6, normalize_output=True)
    threshold = serializers.DecimalField(
        max_digits=30, decimal_places=6, normalize_output=True, allow_null=True
    )


class PreviewSerializer(serializers.Serializer):
    """Which series breach now, and which would have fired over the last `days` days."""

    now = FiringNowSerializer(many=True)
    backtest = BacktestItemSerializer(many=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SilenceSerializer(StrictTypesMixin, serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    matchers = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, default=dict
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "owner_scope",
            "matchers",
            "scope",
            "category",
            "starts_at",
            "ends_at",
            "comment",
            "created_by",
            "created_at",
            "active",
        ]
        read_only_fields = ["id", "owner_scope", "created_by", "created_at", "active"]

    def get_active(self, obj) -> bool:
        from django.utils import timezone

        return obj.starts_at <= timezone.now() < obj.ends_at

    def validate_scope(self, value):
        return _scope(value) if value else ""

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        return attrs


class ContactPointSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """A contact point; the webhook secret is write-only (never read back)."""

    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, min_length=16, max_length=128
    )
    has_secret = serializers.SerializerMethodField()
    emails = serializers.ListField(child=serializers.EmailField(), required=False, default=list)
    severities = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices), required=False, default=list
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertCategory.choices), required=False, default=list
    )
    group_wait = IsoDurationField(required=False)
    group_interval = IsoDurationField(required=False)
    repeat_interval = IsoDurationField(required=False)
    enabled = StrictBooleanField(required=False)

    class Meta:
        model = ContactPoint
        fields = ["id", *CONTACT_POINT_FIELDS, "has_secret", "created_at"]
        read_only_fields = ["id", "owner_scope", "created_at", "has_secret"]

    def get_has_secret(self, obj) -> bool:
        return bool(obj.secret)

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        url = attrs.get("url", getattr(self.instance, "url", ""))
        secret = attrs.get("secret", getattr(self.instance, "secret", ""))
        emails = attrs.get("emails", getattr(self.instance, "emails", []))
        if kind == ContactKind.WEBHOOK:
            if not url or not url.lower().startswith(("http://", "https://")):
                raise serializers.ValidationError({"url": ["A webhook needs an http(s) URL."]})
            if not secret:
                raise serializers.ValidationError(
                    {"secret": ["A webhook needs a signing secret (16+ characters)."]}
                )
        if kind == ContactKind.EMAIL and not emails:
            raise serializers.ValidationError({"emails": ["Give at least one address."]})
        return attrs


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationDelivery
        fields = [
            "id",
            "group_key",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "sent_at",
            "next_attempt_at",
        ]
        read_only_fields = fields
