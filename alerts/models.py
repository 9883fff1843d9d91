"""Alert rules, their per-series state and evaluation history, alerts, silences,
contact points, notification groups and the delivery log."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from alerts.choices import (
    LIVE_STATUSES,
    AlertCategory,
    AlertEventKind,
    AlertSource,
    AlertStatus,
    Baseline,
    Comparator,
    ContactKind,
    DeliveryStatus,
    NoDataState,
    SeriesState,
    Severity,
)

DECIMAL = {"max_digits": 30, "decimal_places": 6}


class AlertRule(models.Model):
    """A threshold over one metric for one scope or for every series of a kind (each:*)."""

    key = models.CharField(
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(r"^[a-z0-9][a-z0-9_.\-]*$", "Lower-case letters, digits, _ . -")
        ],
        help_text="Stable key, e.g. fraud_rate_bps.max (the `key` of ADJUST_THRESHOLD).",
    )
    name = models.CharField(max_length=200)
    metric = models.CharField(max_length=64)
    scope = models.CharField(
        max_length=80, help_text="platform, merchant:ID, ... or each:merchant|agent|bank|country"
    )
    comparator = models.CharField(max_length=3, choices=Comparator.choices)
    threshold = models.DecimalField(**DECIMAL)
    baseline = models.CharField(max_length=16, choices=Baseline.choices, default=Baseline.NONE)
    window = models.DurationField(default=timedelta(hours=1))
    for_duration = models.DurationField(default=timedelta(0), help_text="Pending period.")
    keep_firing_for = models.DurationField(default=timedelta(0))
    no_data_state = models.CharField(
        max_length=10, choices=NoDataState.choices, default=NoDataState.OK
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    category = models.CharField(max_length=16, choices=AlertCategory.choices)
    labels = models.JSONField(default=dict, blank=True)
    # A rule whose firing means the aggregates are stale: it holds back the others.
    inhibits = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class RuleSeriesState(models.Model):
    """Where one series of one rule stands (normal, pending, firing), between evaluations."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="series_states")
    series = models.CharField(max_length=80)
    state = models.CharField(max_length=10, choices=SeriesState.choices)
    since = models.DateTimeField(help_text="When the series entered this state.")
    breach_since = models.DateTimeField(null=True, blank=True)
    last_breach_at = models.DateTimeField(null=True, blank=True)
    value = models.DecimalField(**DECIMAL, null=True, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "series"], name="alerts_series_state_unique")
        ]

    def __str__(self):
        return f"{self.rule_id} {self.series} {self.state}"


class RuleEvaluation(models.Model):
    """One evaluation of one rule: how long, how many series in each state, or why skipped."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="evaluations")
    at = models.DateTimeField()
    duration_ms = models.DecimalField(max_digits=12, decimal_places=3)
    breaching = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    firing = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    skipped = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["rule", "-at"], name="alerts_eval_rule_at")]


class Alert(models.Model):
    """One alert (the seed's dash_alerts): one per live fingerprint, with occurrences."""

    fingerprint = models.CharField(max_length=64)
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    source = models.CharField(max_length=10, choices=AlertSource.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    category = models.CharField(max_length=16, choices=AlertCategory.choices)
    scope = models.CharField(max_length=80)
    # The tenant keys of `scope` (and the country label), for accounts.scope.restrict_queryset.
    merchant_id = models.CharField(max_length=64, blank=True, default="")
    agent_id = models.CharField(max_length=64, blank=True, default="")
    bank_id = models.CharField(max_length=64, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True, default="")
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    value = models.DecimalField(**DECIMAL, null=True, blank=True)
    threshold = models.DecimalField(**DECIMAL, null=True, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    occurrences = models.PositiveIntegerField(default=1)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Held back from notifications (set when it opened under a silence or an inhibition).
    silenced = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            # One live alert per fingerprint, whatever the race between evaluations.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(status__in=LIVE_STATUSES),
                name="alerts_one_live_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="alerts_status_severity"),
            models.Index(fields=["merchant_id", "status"], name="alerts_merchant_status"),
            models.Index(fields=["agent_id", "status"], name="alerts_agent_status"),
            models.Index(fields=["bank_id", "status"], name="alerts_bank_status"),
            models.Index(fields=["country", "status"], name="alerts_country_status"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title} ({self.status})"


class AlertEvent(models.Model):
    """What happened to an alert and who did it (acknowledge, resolve, seen again)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=14, choices=AlertEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True, default="", max_length=1000)
    value = models.DecimalField(**DECIMAL, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Silence(models.Model):
    """Holds back notifications of matching alerts between starts_at and ends_at."""

    owner_scope = models.CharField(max_length=80, help_text="Who owns it (tenant scope).")
    matchers = models.JSONField(default=dict, blank=True, help_text="Label equalities.")
    scope = models.CharField(max_length=80, blank=True, default="")
    category = models.CharField(
        max_length=16, choices=AlertCategory.choices, blank=True, default=""
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.TextField(max_length=1000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self):
        return f"silence {self.pk} {self.scope or '*'} {self.category or '*'}"


class ContactPoint(models.Model):
    """Where a tenant's (or the platform's) alerts go, with routing and grouping timings."""

    name = models.CharField(max_length=100)
    owner_scope = models.CharField(max_length=80, help_text="platform, merchant:ID, ...")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    url = models.URLField(max_length=500, blank=True, default="")
    secret = models.CharField(max_length=128, blank=True, default="")
    emails = models.JSONField(default=list, blank=True)
    severities = models.JSONField(default=list, blank=True, help_text="Empty: every severity.")
    categories = models.JSONField(default=list, blank=True, help_text="Empty: every category.")
    group_wait = models.DurationField(default=timedelta(seconds=30))
    group_interval = models.DurationField(default=timedelta(minutes=5))
    repeat_interval = models.DurationField(default=timedelta(hours=4))
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner_scope", "name", "id"]

    def __str__(self):
        return f"{self.name} ({self.owner_scope}, {self.kind})"


# The editable fields of a contact point (admin form and API, besides read-only ones).
CONTACT_POINT_FIELDS = [
    "name",
    "owner_scope",
    "kind",
    "url",
    "secret",
    "emails",
    "severities",
    "categories",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "enabled",
]


class NotificationGroup(models.Model):
    """Alerts of one group for one contact point (Alertmanager's aggregation group)."""

    contact_point = models.ForeignKey(ContactPoint, on_delete=models.CASCADE, related_name="groups")
    group_key = models.CharField(max_length=200)
    alerts = models.ManyToManyField(Alert, related_name="notification_groups")
    created_at = models.DateTimeField()
    changed_at = models.DateTimeField(help_text="Last time an alert joined, changed or left.")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_sent_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_point", "group_key"], name="alerts_group_unique"
            )
        ]


class NotificationDelivery(models.Model):
    """One notification to one contact point and every attempt at it (the delivery log)."""

    contact_point = models.ForeignKey(
        ContactPoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    group_key = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="alerts_delivery_due",
            )
        ]


class SeriesTransition(models.Model):
    """A series of a rule changing state, with the value and threshold that made it:
    the answer to "why did this fire" (only changes are kept, not every evaluation)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="transitions")
    series = models.CharField(max_length=80)
    at = models.DateTimeField()
    from_state = models.CharField(max_length=10, choices=SeriesState.choices)
    to_state = models.CharField(max_length=10, choices=SeriesState.choices)
    value = models.DecimalField(**DECIMAL, null=True, blank=True)
    threshold = models.DecimalField(**DECIMAL, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["rule", "series", "at"], name="alerts_transition_series_at")
        ]
