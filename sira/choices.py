"""Closed sets of the SIRA app (TextChoices: never bare strings)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from opsactions.choices import ActionType


class RecStatus(models.TextChoices):
    NEW = "new", _("New")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")


class RecType(models.TextChoices):
    """What SIRA may recommend: the tightening action types (the lower-case action type)."""

    PAUSE_PAYOUT = "pause_payout", _("Pause payouts")
    FREEZE_MERCHANT = "freeze_merchant", _("Freeze merchant")
    FREEZE_AGENT = "freeze_agent", _("Freeze agent")
    SET_HOLD = "set_hold", _("Hold merchant settlements")
    ROUTE_PAYOUT = "route_payout", _("Route payouts")
    ADJUST_THRESHOLD = "adjust_threshold", _("Adjust a threshold")
    ADJUST_AGENT_FLOAT_LIMIT = "adjust_agent_float_limit", _("Adjust agent float limit")
    FORCE_RECONCILIATION = "force_reconciliation", _("Force a bank reconciliation")


def action_type_of(rec_type):
    """The ops action type a recommendation type proposes."""
    return ActionType(str(rec_type).upper())


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Origin(models.TextChoices):
    API = "api", _("API")
    KAFKA = "kafka", _("Kafka")
    BASELINE = "baseline", _("Built-in advisor")


class RecEvent(models.TextChoices):
    """What a row of the recommendation audit records."""

    RECEIVED = "received", _("Received")
    SUPERSEDED = "superseded", _("Superseded")
    APPLY_REQUESTED = "apply_requested", _("Applied: ops action requested")
    APPLIED = "applied", _("Ops action executed")
    REOPENED = "reopened", _("Ops action closed without effect: open again")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    AUTO_APPLIED = "auto_applied", _("Auto-remediation applied")
    AUTO_DRY_RUN = "auto_dry_run", _("Auto-remediation dry run")
    AUTO_SKIPPED = "auto_skipped", _("Auto-remediation declined")
    POLICY_CHANGED = "policy_changed", _("Auto-remediation policy changed")


class DeadLetterReason(models.TextChoices):
    NOT_JSON = "not_json", _("Not JSON")
    INVALID = "invalid", _("Invalid recommendation")
