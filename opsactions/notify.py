"""What opsactions gives the alerts app (which may not import opsactions):

- eligible approvers are e-mailed when an action enters pending_approval (a receiver
  of ``action_changed``, sent after the commit of every status change);
- system figures for alert rules: actions waiting for approval, the age of the oldest
  high or critical one (the default rule fires past 15 minutes), the outbox backlog;
- the ADJUST_THRESHOLD overrides (ThresholdOverride rows) as a threshold source.

Connected in OpsactionsConfig.ready().
"""

import logging
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Min

from opsactions import policy
from opsactions.choices import ActionStatus, RiskLevel
from opsactions.models import OpsAction, OutboxMessage, ThresholdOverride

logger = logging.getLogger(__name__)


def eligible_approvers(action):
    """Active users who may vote on `action` now: role, permission and reach (policy), never
    its requester, and who have not voted yet."""
    roles = policy.POLICIES[action.action_type].approve
    voted = action.approvals.values_list("approver_id", flat=True)
    users = (
        get_user_model()
        .objects.filter(is_active=True, role__in=roles)
        .exclude(pk=action.requested_by_id)
        .exclude(pk__in=voted)
        .order_by("pk")
    )
    target = policy.parse_target(action.target)
    return [u for u in users if policy.can_approve(u, action.action_type, target)[0]]


def notify_approvers(sender=None, *, action_id, status, previous=None, action_type=None, **kw):
    """action_changed receiver: e-mail the eligible approvers of an action awaiting them."""
    if status != ActionStatus.PENDING_APPROVAL:
        return
    from alerts.notifications import email_users

    action = OpsAction.objects.select_related("requested_by").filter(pk=action_id).first()
    if action is None or action.status != ActionStatus.PENDING_APPROVAL:
        return
    people = eligible_approvers(action)
    email_users(
        emails=[u.email for u in people],
        subject=(
            f"[Molam ops] #{action.pk} {action.action_type} on {action.target} awaits your "
            f"approval ({action.risk_level})"
        ),
        body=(
            f"{action.requested_by.username} requested {action.get_action_type_display()} on "
            f"{action.target}.\nReason: {action.reason}\nRisk: {action.risk_level}, "
            f"{action.required_approvals} approval(s) needed, expires "
            f"{action.expires_at:%Y-%m-%d %H:%M} UTC.\n"
            f"Review it in the ops console (action #{action.pk})."
        ),
    )


def pending_approval_count(*, now, window):
    """Ops actions waiting for approval."""
    return Decimal(OpsAction.objects.filter(status=ActionStatus.PENDING_APPROVAL).count())


def oldest_high_pending_age_s(*, now, window):
    """Seconds the oldest high or critical action has waited for approval (0: none waits)."""
    oldest = OpsAction.objects.filter(
        status=ActionStatus.PENDING_APPROVAL,
        risk_level__in=[RiskLevel.HIGH, RiskLevel.CRITICAL],
    ).aggregate(m=Min("created_at"))["m"]
    return Decimal(0) if oldest is None else Decimal(int((now - oldest).total_seconds()))


def outbox_backlog(*, now, window):
    """Ops commands written but not yet published to Kafka."""
    return Decimal(OutboxMessage.objects.filter(sent_at__isnull=True).count())


def threshold_overrides(key):
    """{scope: value} of the ADJUST_THRESHOLD overrides of `key`."""
    return dict(ThresholdOverride.objects.filter(key=key).values_list("scope", "value"))


def connect():
    """Register everything above with the alerts app (idempotent)."""
    from alerts.overrides import register_threshold_source
    from alerts.system_metrics import register_system_metric
    from opsactions.signals import action_changed

    action_changed.connect(notify_approvers, dispatch_uid="opsactions.notify_approvers")
    register_system_metric("ops_pending_approval", pending_approval_count)
    register_system_metric("ops_oldest_high_pending_age_s", oldest_high_pending_age_s)
    register_system_metric("outbox_backlog", outbox_backlog)
    register_threshold_source(threshold_overrides)
