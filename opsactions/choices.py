"""Statuses, types and levels of ops actions (TextChoices: never bare strings)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.choices import Role


class ActionType(models.TextChoices):
    PAUSE_PAYOUT = "PAUSE_PAYOUT", _("Pause payouts")
    RESUME_PAYOUT = "RESUME_PAYOUT", _("Resume payouts")
    FREEZE_MERCHANT = "FREEZE_MERCHANT", _("Freeze merchant")
    UNFREEZE_MERCHANT = "UNFREEZE_MERCHANT", _("Unfreeze merchant")
    FREEZE_AGENT = "FREEZE_AGENT", _("Freeze agent")
    UNFREEZE_AGENT = "UNFREEZE_AGENT", _("Unfreeze agent")
    SET_HOLD = "SET_HOLD", _("Hold merchant settlements")
    RELEASE_HOLD = "RELEASE_HOLD", _("Release settlement hold")
    ROUTE_PAYOUT = "ROUTE_PAYOUT", _("Route a country's payouts through a bank")
    ADJUST_THRESHOLD = "ADJUST_THRESHOLD", _("Adjust an alert or risk threshold")
    ADJUST_AGENT_FLOAT_LIMIT = "ADJUST_AGENT_FLOAT_LIMIT", _("Adjust agent float limit")
    FORCE_RECONCILIATION = "FORCE_RECONCILIATION", _("Force a bank reconciliation")
    REVERSE_TRANSACTION = "REVERSE_TRANSACTION", _("Reverse a transaction")


class ActionStatus(models.TextChoices):
    """Every status an action is committed in: it is created pending approval, and an
    execution goes from approved to executed or failed in one transaction."""

    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    EXECUTED = "executed", _("Executed")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    ROLLED_BACK = "rolled_back", _("Rolled back")


# An "open" action still occupies its type+target slot (partial unique index):
# a second PAUSE_PAYOUT on merchant:m_1 while one is waiting for votes or execution is a 409.
OPEN_STATUSES = (ActionStatus.PENDING_APPROVAL, ActionStatus.APPROVED)


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Decision(models.TextChoices):
    # A vote as recorded (the votes table), not the button: French says "Approbation".
    APPROVE = "approve", pgettext_lazy("vote decision", "Approve")
    REJECT = "reject", pgettext_lazy("vote decision", "Reject")


class Transition(models.TextChoices):
    """What a person may do to an existing action (the consoles' buttons)."""

    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    EXECUTE = "execute", _("Execute")
    ROLLBACK = "rollback", _("Roll back")
    CANCEL = "cancel", _("Cancel")


class AuditEvent(models.TextChoices):
    # Rows written before the creation and the execution became one step each also hold
    # "submitted" and "execution_started" (shown as they are).
    REQUESTED = "requested", _("Requested")
    APPROVAL = "approval", _("Approval vote")
    APPROVED = "approved", _("Quorum reached")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    EXECUTED = "executed", _("Executed")
    FAILED = "failed", _("Execution failed")
    ROLLBACK_REQUESTED = "rollback_requested", _("Rollback requested (needs a second person)")
    ROLLED_BACK = "rolled_back", _("Rolled back")
    ROLLBACK_FAILED = "rollback_failed", _("Rollback refused")


class RollbackOutcome(models.TextChoices):
    """How a rollback request was closed."""

    ROLLED_BACK = "rolled_back", _("Rolled back")
    ROLLBACK_FAILED = "rollback_failed", _("Rollback refused")
    LAPSED = "lapsed", _("Requester no longer eligible")


class ControlStatus(models.TextChoices):
    """Status of a merchant as written by FREEZE/UNFREEZE_MERCHANT."""

    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")


class HoldKind(models.TextChoices):
    PERCENT = "percent", _("Percent of settlements")
    AMOUNT = "amount", _("Fixed amount")


class OutboxPhase(models.TextChoices):
    EXECUTE = "execute", _("Execute")
    ROLLBACK = "rollback", _("Rollback")


class ReasonCode(models.TextChoices):
    """Why ops pause payouts or change a merchant's status: the API takes the code."""

    FRAUD_SUSPECTED = "fraud_suspected", _("Fraud suspected")
    CHARGEBACK_SPIKE = "chargeback_spike", _("Chargeback spike")
    COMPLIANCE = "compliance", _("Compliance")
    BANK_OUTAGE = "bank_outage", _("Bank outage")
    LIQUIDITY = "liquidity", _("Liquidity")
    CUSTOMER_REQUEST = "customer_request", _("Customer request")
    OTHER = "other", _("Other")


# Who an audit entry names: a user's role, or the system itself (beat, expiry) with no user.
SYSTEM_ACTOR = "system"
AUDIT_ACTOR_ROLES = [*Role.choices, (SYSTEM_ACTOR, _("System"))]
