"""Reads of ops actions; visibility depends on who asks (accounts.scope)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, prefetch_related_objects
from django.utils import timezone

from accounts.choices import ScopeKind
from accounts.scope import restrict_queryset, user_scope
from common.errors import DomainError, NotAllowed, NotFound
from opsactions import policy
from opsactions.choices import OPEN_STATUSES, ActionStatus, Decision, Transition
from opsactions.models import AuditEntry, OpsAction, OpsApproval, RollbackRequest
from opsactions.params import params_validate


def can_view_ops(user):
    """The roles that take part in ops actions see them (tenants never do); so do superusers,
    read-only unless their role may act (policy: a superuser acts as its role, never more)."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in policy.ops_roles())
    )


# What a console shows with an action: who asked, who executed, the votes and their voters.
ACTION_RELATED = ("requested_by", "executed_by", "approvals__approver")


def action_queryset(user, *, related=True):
    """Actions `user` may see: platform staff all, region staff their country's, else 403.
    `related=False` leaves out the users and votes (a visibility check before a service)."""
    if not can_view_ops(user):
        raise NotAllowed("Your role may not view ops actions.", code="role_not_eligible")
    qs = OpsAction.objects.all()
    if related:
        qs = qs.select_related("requested_by", "executed_by").prefetch_related(
            "approvals__approver"
        )
    # region:CC staff see actions targeting their country; other tenant kinds see none.
    return restrict_queryset(qs, user, country="target_country")


def action_get(user, action_id, *, related=True):
    """One visible action or NotFound (an invisible action looks like a missing one)."""
    try:
        pk = int(action_id)
        if not 0 < pk < 2**63:  # beyond bigint the database would raise, not answer
            raise ValueError
        return action_queryset(user, related=related).get(pk=pk)
    except (OpsAction.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Ops action {action_id} not found.", code="action_not_found")


def action_related_load(action):
    """Load what a console shows with an action the caller already holds (a service's answer)
    without reading the action row again: its users and votes (those already cached stay)."""
    prefetch_related_objects([action], *ACTION_RELATED)
    return action


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


def actions_requested_by(user, queryset):
    """The actions `user` requested, newest first."""
    return queryset.filter(requested_by=user)


def requestable_types(user):
    """Action types `user` may request on some target in reach: role and permission, and for
    region staff only types with region or agent targets (the exact target is checked on
    request)."""
    role = getattr(user, "role", "")
    if not (
        can_view_ops(user)
        and user.has_perm(policy.PERM_REQUEST_BY_ROLE.get(role, policy.PERM_REQUEST))
    ):
        return []
    own = user_scope(user)
    if own.is_platform:
        kinds = None
    elif own.kind == ScopeKind.REGION:
        kinds = {ScopeKind.REGION, ScopeKind.AGENT}
    else:
        return []
    return [
        action_type
        for action_type, rule in policy.POLICIES.items()
        if role in rule.request and (kinds is None or rule.targets & kinds)
    ]


def action_audit(action_id):
    """The audit rows of one action, oldest first."""
    return AuditEntry.objects.filter(action_id=action_id).order_by("seq")


def approvals_summary(action):
    """(approvals so far, required, approver usernames) for consoles."""
    votes = [a for a in action.approvals.all() if a.decision == Decision.APPROVE]
    return len(votes), action.required_approvals, [a.approver.username for a in votes]


def rollback_request_open(action_id):
    """The open rollback request of an action (awaiting a second person), or None."""
    return (
        RollbackRequest.objects.select_related("requested_by")
        .filter(action_id=action_id, closed_at__isnull=True)
        .first()
    )


def approved_deadline(action):
    """When an approved action expires unexecuted: OPS_ACTION_APPROVED_TTL_HOURS after the
    approval that completed the quorum (None unless approved)."""
    if action.status != ActionStatus.APPROVED or action.approved_at is None:
        return None
    return action.approved_at + timedelta(hours=settings.OPS_ACTION_APPROVED_TTL_HOURS)


def action_transitions(user, action, *, now=None):
    """The transitions `user` may attempt on `action` now: the buttons a console shows.

    Mirrors the services' checks that can be read without a lock (state, deadline, role,
    permission, scope, requester, own vote, own rollback request); the service still decides
    when the button is used. Approve/reject: an eligible approver, not the requester, who has
    not voted, while pending. Execute: an eligible executor, while approved. Roll back: an
    eligible executor of a reversible executed action who has not already asked for it.
    Cancel: the requester, before execution.
    """
    if not can_view_ops(user):
        return []
    now = now or timezone.now()
    scope = policy.parse_target(action.target)
    verbs = []
    status = action.status
    if status == ActionStatus.PENDING_APPROVAL and action.expires_at > now:
        voted = any(a.approver_id == user.pk for a in action.approvals.all())
        if (
            user.pk != action.requested_by_id
            and not voted
            and policy.can_approve(user, action.action_type, scope)[0]
        ):
            verbs += [Transition.APPROVE, Transition.REJECT]
    deadline = approved_deadline(action)
    if status == ActionStatus.APPROVED and deadline and deadline > now:
        if policy.can_execute(user, action.action_type, scope)[0]:
            verbs.append(Transition.EXECUTE)
    if (
        status == ActionStatus.EXECUTED
        and policy.POLICIES[action.action_type].reversible
        and policy.can_execute(user, action.action_type, scope)[0]
    ):
        pending = rollback_request_open(action.pk)
        if not (pending and pending.requested_by_id == user.pk):
            verbs.append(Transition.ROLLBACK)
    if user.pk == action.requested_by_id and status in OPEN_STATUSES:
        verbs.append(Transition.CANCEL)
    return verbs


@dataclass(frozen=True)
class ActionPreview:
    """What the policy would give a request, computed without creating anything."""

    action_type: str
    risk_level: str
    required_approvals: int
    required_role: str
    # False when the risk is the type's base risk only: target or parameters still missing
    # or invalid, and they can raise it.
    final: bool
    may_request: bool
    refusal: str = ""
    errors: dict = field(default_factory=dict)


def action_preview(user, *, action_type, target, params):
    """The risk level and quorum the policy gives `action_type` on `target` with `params`, and
    whether `user` may request it; field errors instead of exceptions (a form shows them)."""
    errors = {}
    scope = clean = None
    try:
        action_type, scope = policy.request_target(action_type, target)
    except DomainError as exc:
        if "action_type" in (exc.errors or {}):
            raise
        errors.update(exc.errors or {"target": [exc.detail]})
    try:
        clean = params_validate(action_type, params)
    except DomainError as exc:
        errors.update(exc.errors or {"params": [exc.detail]})
    rule = policy.POLICIES[action_type]
    final = scope is not None and clean is not None
    risk = policy.risk_of(action_type, scope, clean) if final else rule.base_risk
    may_request, refusal = (
        policy.can_request(user, action_type, scope) if scope else (False, "target_missing")
    )
    return ActionPreview(
        action_type=action_type,
        risk_level=risk,
        required_approvals=policy.required_approvals(risk),
        required_role=policy.required_approver_role(action_type, risk) or "",
        final=final,
        may_request=may_request,
        refusal=refusal,
        errors=errors,
    )
