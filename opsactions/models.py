"""Ops actions, their votes, the append-only audit chain, the Kafka outbox, and the
control tables the executors write (the rest of the product reads them)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import Role, ScopeKind
from opsactions.choices import (
    AUDIT_ACTOR_ROLES,
    OPEN_STATUSES,
    ActionStatus,
    ActionType,
    ControlStatus,
    Decision,
    HoldKind,
    OutboxPhase,
    ReasonCode,
    RiskLevel,
    RollbackOutcome,
)


class OpsAction(models.Model):
    """One requested change to live money flows, frozen at creation, moved through approvals."""

    action_type = models.CharField(max_length=32, choices=ActionType.choices)
    target = models.CharField(max_length=80, help_text="Scope syntax: platform, merchant:ID, ...")
    target_kind = models.CharField(max_length=16, choices=ScopeKind.choices)
    target_id = models.CharField(max_length=64, blank=True, default="")
    target_country = models.CharField(max_length=2, blank=True, default="")
    # Distinguishes two actions of one type on one target (see policy.subject_param).
    subject = models.CharField(max_length=64, blank=True, default="")
    params = models.JSONField(default=dict)
    params_hash = models.CharField(max_length=64)
    reason = models.TextField(max_length=1000)
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices)
    required_approvals = models.PositiveSmallIntegerField()
    required_role = models.CharField(max_length=32, choices=Role.choices, blank=True, default="")
    effect_duration = models.DurationField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ActionStatus.choices, default=ActionStatus.PENDING_APPROVAL
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ops_actions_requested"
    )
    requested_by_role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="A pending action expires at this time.")
    approved_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ops_actions_executed",
    )
    rollback_due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    # What the executor changed: {"before": {...}, "after": {...}}; rollback restores "before".
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open action per type + target (+ subject): the 409 on a duplicate
            # request holds under concurrent requests, not only in Python.
            models.UniqueConstraint(
                fields=["action_type", "target", "subject"],
                condition=Q(status__in=OPEN_STATUSES),
                name="opsaction_one_open_per_type_target",
            ),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1) & Q(required_approvals__lte=4),
                name="opsaction_required_approvals_1_4",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="opsaction_status_expires"),
            models.Index(fields=["status", "rollback_due_at"], name="opsaction_status_rollback"),
            models.Index(fields=["target_country", "status"], name="opsaction_country_status"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action_type} {self.target} ({self.status})"


class OpsApproval(models.Model):
    """One approver's vote on one action, bound to the parameter hash they saw."""

    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    approver_role = models.CharField(max_length=32, choices=Role.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True, default="", max_length=1000)
    params_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One vote per approver: the database refuses a second, whatever the race.
            models.UniqueConstraint(fields=["action", "approver"], name="opsapproval_one_vote"),
        ]

    def __str__(self):
        return f"{self.approver} {self.decision} #{self.action_id}"


class RollbackRequest(models.Model):
    """The first of the two people a manual rollback needs: who asked, why, when.

    A second eligible person (never this one) performs the rollback; at most one
    request is open per action (partial unique index). Closed when the action is
    rolled back (or the rollback is refused), or when its requester is no longer
    eligible at confirmation (then the confirming call becomes the new request).
    """

    action = models.ForeignKey(
        OpsAction, on_delete=models.PROTECT, related_name="rollback_requests"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    requested_by_role = models.CharField(max_length=32, choices=Role.choices)
    reason = models.TextField(max_length=1000)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=RollbackOutcome.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action"],
                condition=Q(closed_at__isnull=True),
                name="rollbackrequest_one_open",
            ),
        ]

    def __str__(self):
        return f"rollback of #{self.action_id} requested by {self.requested_by}"


class AuditEntry(models.Model):
    """Append-only, hash-chained audit row; a DB trigger refuses UPDATE and DELETE.

    No foreign keys on purpose: the log must outlive and never be rewritten by
    changes elsewhere (ON DELETE SET NULL would be an UPDATE).
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, default="")
    actor_role = models.CharField(max_length=32, choices=AUDIT_ACTOR_ROLES, blank=True, default="")
    event = models.CharField(max_length=32)
    action_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    # Text, not inet: the hashed form must come back from the DB byte for byte.
    client_ip = models.CharField(max_length=45, null=True, blank=True)  # noqa: DJ001 (None = no IP)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.seq} {self.event} action #{self.action_id}"


class OutboxMessage(models.Model):
    """A command written in the same transaction as its effect; the relay publishes it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=64)
    payload = models.JSONField()
    action = models.ForeignKey(
        OpsAction, on_delete=models.PROTECT, null=True, blank=True, related_name="outbox"
    )
    phase = models.CharField(max_length=10, choices=OutboxPhase.choices)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The relay only ever scans unsent rows.
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent"
            )
        ]

    def __str__(self):
        return f"{self.id} {self.phase} ({'sent' if self.sent_at else 'pending'})"


# ---------------------------------------------------------------- control tables


class PayoutControl(models.Model):
    """Whether payouts of a scope (platform, region:CC, bank:ID, merchant:ID) are paused."""

    scope = models.CharField(max_length=80, unique=True)
    paused = models.BooleanField(default=False)
    reason_code = models.CharField(
        max_length=32, choices=ReasonCode.choices, blank=True, default=""
    )
    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"{self.scope} {'paused' if self.paused else 'running'}"


class MerchantControl(models.Model):
    """A merchant's operating status as set by ops (absent row: active)."""

    merchant_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=ControlStatus.choices)
    reason_code = models.CharField(
        max_length=32, choices=ReasonCode.choices, blank=True, default=""
    )
    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"{self.merchant_id} {self.status}"


class SettlementHold(models.Model):
    """The hold on a merchant's settlements: a percent or a fixed amount, until a time."""

    merchant_id = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=HoldKind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    until = models.DateTimeField(null=True, blank=True)
    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"hold {self.merchant_id} {'active' if self.active else 'released'}"


class PayoutRoute(models.Model):
    """The bank a country's payouts go through (absent row: the default routing)."""

    country = models.CharField(max_length=2, unique=True)
    bank_id = models.CharField(max_length=64)
    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"{self.country} -> {self.bank_id}"


class ThresholdOverride(models.Model):
    """An alert or risk threshold value for a scope, set by ops."""

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=24, decimal_places=6)
    action = models.ForeignKey(OpsAction, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="threshold_one_per_scope_key")
        ]

    def __str__(self):
        return f"{self.scope} {self.key}={self.value}"


class ReconciliationRequest(models.Model):
    """A forced reconciliation of one bank for one day (consumed by the recon worker)."""

    bank_id = models.CharField(max_length=64)
    date = models.DateField()
    action = models.OneToOneField(OpsAction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    def __str__(self):
        return f"recon {self.bank_id} {self.date}"


class TransactionReversal(models.Model):
    """An ordered reversal of one transaction; unique so a transaction is reversed once."""

    transaction_id = models.CharField(max_length=64)
    merchant_id = models.CharField(max_length=64, blank=True, default="")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    action = models.OneToOneField(OpsAction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transaction_id"], name="reversal_one_per_transaction")
        ]

    def __str__(self):
        return f"reversal {self.transaction_id} {self.amount} {self.currency}"
