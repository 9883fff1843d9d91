"""SIRA recommendations, their audit trail, the Kafka dead letters and the
auto-remediation policy."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import ScopeKind
from opsactions.choices import ActionType
from sira.choices import DeadLetterReason, Origin, Priority, RecEvent, RecStatus, RecType


class Recommendation(models.Model):
    """One explained proposal of an ops action by SIRA (or the built-in advisor)."""

    external_id = models.CharField(max_length=128, unique=True)
    rec_type = models.CharField(max_length=32, choices=RecType.choices)
    target = models.CharField(max_length=80)
    target_kind = models.CharField(max_length=16, choices=ScopeKind.choices)
    target_id = models.CharField(max_length=64, blank=True, default="")
    # Country the target is known to be in ("" when unknown): what region staff see.
    target_country = models.CharField(max_length=2, blank=True, default="", db_index=True)
    priority = models.CharField(max_length=8, choices=Priority.choices)
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    action_type = models.CharField(max_length=32, choices=ActionType.choices)
    # Canonical form from opsactions.params (validated at intake).
    action_params = models.JSONField(default=dict)
    explanation = models.JSONField(default=dict)
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64)
    impact = models.JSONField(default=dict, blank=True)
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=12, choices=RecStatus.choices, default=RecStatus.NEW)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    ops_action = models.ForeignKey(
        "opsactions.OpsAction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sira_recommendations",
        help_text="The latest ops action this recommendation became.",
    )
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    auto_applied = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="sira_rec_status_valid_idx"),
            models.Index(fields=["rec_type", "target"], name="sira_rec_type_target_idx"),
            models.Index(fields=["model_name", "model_version"], name="sira_rec_model_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=Decimal(0)) & Q(confidence__lte=Decimal(1)),
                name="sira_rec_confidence_0_1",
            )
        ]

    def __str__(self):
        return f"{self.external_id} {self.rec_type} {self.target}"


class RecommendationAudit(models.Model):
    """One append-only row per change of a recommendation (who, what, before, after)."""

    # Null for changes of the auto-remediation policy (event policy_changed).
    recommendation = models.ForeignKey(
        Recommendation, null=True, blank=True, on_delete=models.PROTECT, related_name="audit"
    )
    event = models.CharField(max_length=20, choices=RecEvent.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "system", "kafka", "beat", "auto-remediation policy" when there is no person.
    actor_label = models.CharField(max_length=64, blank=True, default="")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class SiraDeadLetter(models.Model):
    """A Kafka message of sira.recommendations that could not be taken in, with why."""

    received_at = models.DateTimeField(db_index=True)
    topic = models.CharField(max_length=249)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    payload = models.BinaryField()
    reason = models.CharField(max_length=16, choices=DeadLetterReason.choices)
    detail = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset"], name="sira_deadletter_position"
            )
        ]


class AutoRemediationPolicy(models.Model):
    """The single auto-remediation policy row (id 1): off until ops switch it on."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    enabled = models.BooleanField(default=False)
    # Kill switch: wins over everything, set by ops (manage.py sira_autoremediation --kill).
    killed = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=True)
    action_types = models.JSONField(default=list, blank=True)
    min_confidence = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.95"))
    max_per_hour = models.PositiveIntegerField(default=3)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="sira_policy_singleton")]
