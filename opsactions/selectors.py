"""Reads of ops actions; visibility depends on who asks (accounts.scope)."""

from django.db.models import Exists, OuterRef

from accounts.scope import restrict_queryset
from common.errors import NotAllowed, NotFound
from opsactions import policy
from opsactions.choices import ActionStatus
from opsactions.models import AuditEntry, OpsAction, OpsApproval, RollbackRequest


def can_view_ops(user):
    """Only the roles that take part in ops actions see them (tenants never do)."""
    return bool(
        user and user.is_authenticated and user.is_active and (user.role in policy.ops_roles())
    )


def action_queryset(user):
    """Actions `user` may see: platform staff all, region staff their country's, else 403."""
    if not can_view_ops(user):
        raise NotAllowed("Your role may not view ops actions.", code="role_not_eligible")
    qs = OpsAction.objects.select_related("requested_by", "executed_by").prefetch_related(
        "approvals__approver"
    )
    # region:CC staff see actions targeting their country; other tenant kinds see none.
    return restrict_queryset(qs, user, country="target_country")


def action_get(user, action_id):
    """One visible action or NotFound (an invisible action looks like a missing one)."""
    try:
        pk = int(action_id)
        if not 0 < pk < 2**63:  # beyond bigint the database would raise, not answer
            raise ValueError
        return action_queryset(user).get(pk=pk)
    except (OpsAction.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Ops action {action_id} not found.", code="action_not_found")


def actions_awaiting_approval(user, queryset):
    """Pending actions `user` may still vote on: eligible type, not theirs, no vote yet."""
    types = [t for t, rule in policy.POLICIES.items() if user.role in rule.approve]
    if not types or not user.has_perm(policy.PERM_APPROVE):
        return queryset.none()
    voted = OpsApproval.objects.filter(action=OuterRef("pk"), approver=user)
    return (
        queryset.filter(status=ActionStatus.PENDING_APPROVAL, action_type__in=types)
        .exclude(requested_by=user)
        .exclude(Exists(voted))
    )


def action_audit(action_id):
    """The audit rows of one action, oldest first."""
    return AuditEntry.objects.filter(action_id=action_id).order_by("seq")


def approvals_summary(action):
    """(approvals so far, required, approver usernames) for consoles."""
    votes = [a for a in action.approvals.all() if a.decision == "approve"]
    return len(votes), action.required_approvals, [a.approver.username for a in votes]


def rollback_request_open(action_id):
    """The open rollback request of an action (awaiting a second person), or None."""
    return (
        RollbackRequest.objects.select_related("requested_by")
        .filter(action_id=action_id, closed_at__isnull=True)
        .first()
    )
