"""Statuses, types and levels of ops actions (TextChoices: never bare strings)."""

from django.db import models


class ActionType(models.TextChoices):
    PAUSE_PAYOUT = "PAUSE_PAYOUT", "Pause payouts"
    RESUME_PAYOUT = "RESUME_PAYOUT", "Resume payouts"
    FREEZE_MERCHANT = "FREEZE_MERCHANT", "Freeze merchant"
    UNFREEZE_MERCHANT = "UNFREEZE_MERCHANT", "Unfreeze merchant"
    FREEZE_AGENT = "FREEZE_AGENT", "Freeze agent"
    UNFREEZE_AGENT = "UNFREEZE_AGENT", "Unfreeze agent"
    SET_HOLD = "SET_HOLD", "Hold merchant settlements"
    RELEASE_HOLD = "RELEASE_HOLD", "Release settlement hold"
    ROUTE_PAYOUT = "ROUTE_PAYOUT", "Route a country's payouts through a bank"
    ADJUST_THRESHOLD = "ADJUST_THRESHOLD", "Adjust an alert or risk threshold"
    ADJUST_AGENT_FLOAT_LIMIT = "ADJUST_AGENT_FLOAT_LIMIT", "Adjust agent float limit"
    FORCE_RECONCILIATION = "FORCE_RECONCILIATION", "Force a bank reconciliation"
    REVERSE_TRANSACTION = "REVERSE_TRANSACTION", "Reverse a transaction"


class ActionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    ROLLED_BACK = "rolled_back", "Rolled back"


# An "open" action still occupies its type+target slot (partial unique index):
# a second PAUSE_PAYOUT on merchant:m_1 while one is waiting or running is a 409.
OPEN_STATUSES = (
    ActionStatus.REQUESTED,
    ActionStatus.PENDING_APPROVAL,
    ActionStatus.APPROVED,
    ActionStatus.EXECUTING,
)


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Transition(models.TextChoices):
    """What a person may do to an existing action (the consoles' buttons)."""

    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    EXECUTE = "execute", "Execute"
    ROLLBACK = "rollback", "Roll back"
    CANCEL = "cancel", "Cancel"


class AuditEvent(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVAL = "approval", "Approval vote"
    APPROVED = "approved", "Quorum reached"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    EXECUTION_STARTED = "execution_started", "Execution started"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Execution failed"
    ROLLBACK_REQUESTED = "rollback_requested", "Rollback requested (needs a second person)"
    ROLLED_BACK = "rolled_back", "Rolled back"
    ROLLBACK_FAILED = "rollback_failed", "Rollback refused"


class RollbackOutcome(models.TextChoices):
    """How a rollback request was closed."""

    ROLLED_BACK = "rolled_back", "Rolled back"
    ROLLBACK_FAILED = "rollback_failed", "Rollback refused"
    LAPSED = "lapsed", "Requester no longer eligible"


class ControlStatus(models.TextChoices):
    """Status of a merchant as written by FREEZE/UNFREEZE_MERCHANT."""

    ACTIVE = "active", "Active"
    FROZEN = "frozen", "Frozen"


class HoldKind(models.TextChoices):
    PERCENT = "percent", "Percent of settlements"
    AMOUNT = "amount", "Fixed amount"


class OutboxPhase(models.TextChoices):
    EXECUTE = "execute", "Execute"
    ROLLBACK = "rollback", "Rollback"
