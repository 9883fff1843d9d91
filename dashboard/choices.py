from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    WALLET = "wallet", _("Wallet")
    CONNECT = "connect", _("Connect")


class EventType(models.TextChoices):
    PAYMENT_INITIATED = "payment.initiated"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    REFUND_SUCCEEDED = "refund.succeeded"
    DISPUTE_OPENED = "dispute.opened"
    PAYOUT_COMPLETED = "payout.completed"
    PAYOUT_FAILED = "payout.failed"
    FRAUD_FLAGGED = "fraud.flagged"
    TRANSFER_COMPLETED = "transfer.completed"
    CASH_IN_COMPLETED = "cash_in.completed"
    CASH_OUT_COMPLETED = "cash_out.completed"
    AGENT_FLOAT_UPDATED = "agent.float_updated"


# The figures of ../shared/contracts/events.md, in the aggregate table's column order.
COUNT_FIGURES = (
    "attempts",
    "success_count",
    "failed_count",
    "refunds_count",
    "disputes_count",
    "payouts_count",
    "payouts_failed_count",
    "fraud_count",
)
MONEY_FIGURES = (
    "gmv",
    "fees",
    "revenue",
    "refunds_amount",
    "disputes_amount",
    "payouts_amount",
    "fraud_amount",
    "cash_in_amount",
    "cash_out_amount",
)


class EventOutcome(models.TextChoices):
    """What an event says happened, as the live transactions feed labels it (dashboard.stream)."""

    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    PENDING = "pending", _("Pending")
    FLAGGED = "flagged", _("Flagged")
    UPDATED = "updated", _("Updated")
