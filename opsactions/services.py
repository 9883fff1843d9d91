"""Writes of ops actions. Every transition is one function: lock the action row
(select_for_update), check the rule (raise a domain error with a stable code),
change, write the chained audit row, all in one transaction. The API and the
admin call these and nothing else, so they cannot differ.
"""

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_duration

from common.db import violated_constraint
from common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from opsactions import policy
from opsactions.audit import AuditContext, audit_append
from opsactions.choices import (
    OPEN_STATUSES,
    ActionStatus,
    AuditEvent,
    Decision,
    OutboxPhase,
    RollbackOutcome,
)
from opsactions.executors import executor_for
from opsactions.models import OpsAction, OpsApproval, RollbackRequest
from opsactions.outbox import outbox_enqueue
from opsactions.params import params_validate
from opsactions.selectors import action_audit, approved_deadline, rollback_request_open
from opsactions.signals import action_changed

MAX_TEXT = 1000
log = logging.getLogger(__name__)


def params_hash_of(*, action_type, target, params, reason, effect_duration):
    """SHA-256 over the canonical form of everything an approver approves."""
    seconds = None if effect_duration is None else int(effect_duration.total_seconds())
    body = {
        "action_type": str(action_type),
        "target": str(target),
        "params": params,
        "reason": reason,
        "effect_duration_s": seconds,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _current_hash(action):
    return params_hash_of(
        action_type=action.action_type,
        target=action.target,
        params=action.params,
        reason=action.reason,
        effect_duration=action.effect_duration,
    )


def _insert_once(insert, *, constraint, conflict):
    """Run `insert`; the named unique constraint refusing it becomes `conflict` (any other
    integrity error is raised as it is). The caller's transaction, left with the error,
    rolls the failed INSERT back."""
    try:
        return insert()
    except IntegrityError as exc:
        if violated_constraint(exc) != constraint:
            raise
        raise conflict from exc


def _snapshot(action, approvals, rollback_requested_by=None):
    """The state an audit row records as before/after: status, approve votes, quorum, and on
    an executed action who asked for its rollback (so a request inserted in SQL is seen like
    a forged vote)."""
    snap = {
        "status": action.status,
        "approvals": approvals,
        "required_approvals": action.required_approvals,
    }
    if action.status == ActionStatus.EXECUTED:
        snap["rollback_requested_by"] = rollback_requested_by
    return snap


def _recorded(action):
    """(snapshot, open rollback request) of a locked action as the database holds it: one
    COUNT of its approve votes (and, executed, one read of its open rollback request).
    Read once per transition; what the transition changes is then known without reading."""
    pending = rollback_request_open(action.pk) if action.status == ActionStatus.EXECUTED else None
    approvals = action.approvals.filter(decision=Decision.APPROVE).count()
    return _snapshot(action, approvals, pending.requested_by_id if pending else None), pending


def _lock(action_id):
    try:
        pk = int(action_id)
        if not 0 < pk < 2**63:  # beyond bigint the database would raise, not answer
            raise ValueError
        return OpsAction.objects.select_for_update().get(pk=pk)
    except (OpsAction.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Ops action {action_id} not found.", code="action_not_found")


def _refuse(allowed_reason, verb):
    allowed, reason = allowed_reason
    if not allowed:
        messages = {
            "not_authenticated": "Authentication required.",
            "role_not_eligible": f"Your role may not {verb} this action type.",
            "target_out_of_scope": f"You may not {verb} actions on this target.",
        }
        raise NotAllowed(messages.get(reason, "Not allowed."), code=reason)


def _check_integrity(action, recorded):
    """Parameters are frozen: a stored row whose hash no longer matches was tampered with.
    The status is not frozen (it moves), but every move writes an audit row: a status (or
    vote count) that is not the one the action's last audit row recorded was set behind the
    services' back (a vetoed action reopened, an executed one reset to run twice, a vote
    inserted in SQL) and is refused. `recorded` is `_recorded(action)`'s snapshot."""
    if _current_hash(action) != action.params_hash:
        raise Conflict(
            "The action's parameters do not match their hash; refusing.",
            code="params_tampered",
        )
    last = action_audit(action.pk).reverse().values_list("after", flat=True).first() or {}
    if last.get("status") != action.status:
        raise Conflict(
            f"The action's status {action.status!r} is not the one its audit trail records "
            f"({last.get('status')!r}); refusing.",
            code="status_tampered",
        )
    # Votes are append-only but INSERT is open to the database role: a vote without its
    # audit row would count towards the quorum unseen.
    if last.get("approvals") != recorded["approvals"]:
        raise Conflict(
            "The action's votes are not the ones its audit trail records; refusing.",
            code="votes_tampered",
        )
    # Same for the first half of a two-person rollback (rows written before this rule
    # carry no key: .get gives None, which is "no request").
    if last.get("rollback_requested_by") != recorded.get("rollback_requested_by"):
        raise Conflict(
            "The action's rollback request is not the one its audit trail records; refusing.",
            code="rollback_request_tampered",
        )


def _transition(
    action,
    status,
    *,
    actor,
    event,
    context,
    now,
    before,
    approvals=None,
    extra_after=None,
    fields=(),
):
    """Move the locked action to `status`: one UPDATE, one audit row whose `after` is
    `before` moved on (the vote count given, else unchanged), the signal after commit."""
    previous = action.status
    action.status = status
    action.updated_at = now
    action.save(update_fields=["status", "updated_at", *fields])
    votes = before["approvals"] if approvals is None else approvals
    after = {**_snapshot(action, votes), **(extra_after or {})}
    audit_append(
        event=event, actor=actor, action_id=action.pk, before=before, after=after, context=context
    )
    _announce(action, previous)


def _announce(action, previous):
    """Send `action_changed` once the change is committed (nothing if it rolls back)."""
    fields = {
        "action_id": action.pk,
        "status": action.status,
        "previous": previous,
        "action_type": action.action_type,
    }

    def send():
        for receiver, result in action_changed.send_robust(sender=OpsAction, **fields):
            if isinstance(result, Exception):
                log.error("action_changed receiver %r failed", receiver, exc_info=result)

    transaction.on_commit(send)


def _parse_effect_duration(value, action_type):
    if value in (None, ""):
        return None
    # ISO 8601 only ("PT6H"): parse_duration would also take "5" as five seconds.
    try:
        duration = parse_duration(value) if isinstance(value, str) and value[:1] == "P" else None
    except (OverflowError, ValueError):  # "P99999999999D": beyond timedelta, not a 500
        duration = None
    errors = None
    if duration is None:
        errors = ["Use an ISO 8601 duration such as PT6H."]
    elif duration % timedelta(seconds=1):
        # The hash binds whole seconds: a fraction would be an unapproved difference.
        errors = ["Use whole seconds."]
    elif duration <= timedelta(0):
        errors = ["Must be positive."]
    elif duration > timedelta(hours=settings.OPS_ACTION_MAX_EFFECT_HOURS):
        errors = [f"At most {settings.OPS_ACTION_MAX_EFFECT_HOURS} hours."]
    elif not policy.POLICIES[action_type].reversible:
        errors = [f"{action_type} cannot be rolled back, so it cannot have a duration."]
    if errors:
        raise ValidationFailed("Invalid expires_after.", errors={"expires_after": errors})
    return duration


def action_create(*, actor, action_type, target, params, reason, expires_after=None, context=None):
    """Request an action: validate and freeze it; it is created awaiting approval (409 if one
    is already open for this type and target)."""
    context = context or AuditContext.system()
    action_type, scope = policy.request_target(action_type, target)
    rule = policy.POLICIES[action_type]
    _refuse(policy.can_request(actor, action_type, scope), "request")
    clean = params_validate(action_type, params)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_TEXT:
        raise ValidationFailed(
            "Invalid reason.", errors={"reason": [f"Required, at most {MAX_TEXT} characters."]}
        )
    duration = _parse_effect_duration(expires_after, action_type)
    risk = policy.risk_of(action_type, scope, clean)
    now = timezone.now()
    action = OpsAction(
        action_type=action_type,
        target=str(scope),
        target_kind=scope.kind,
        target_id=scope.id,
        target_country=policy.target_country(scope),
        subject=str(clean.get(rule.subject_param, "")) if rule.subject_param else "",
        params=clean,
        reason=reason,
        risk_level=risk,
        required_approvals=policy.required_approvals(risk),
        required_role=policy.required_approver_role(action_type, risk) or "",
        effect_duration=duration,
        # Born awaiting approval: one INSERT, no intermediate state to commit or to hide.
        status=ActionStatus.PENDING_APPROVAL,
        requested_by=actor,
        requested_by_role=actor.role,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=settings.OPS_ACTION_PENDING_TTL_HOURS),
    )
    action.params_hash = _current_hash(action)
    with transaction.atomic():
        _insert_once(
            lambda: action.save(force_insert=True),
            constraint="opsaction_one_open_per_type_target",
            conflict=Conflict(
                f"An open {action_type} action already exists for {scope}.",
                code="open_action_exists",
            ),
        )
        audit_append(
            event=AuditEvent.REQUESTED,
            actor=actor,
            action_id=action.pk,
            before={},
            after={
                **_snapshot(action, 0),
                "action_type": action.action_type,
                "target": action.target,
                "params": action.params,
                "params_hash": action.params_hash,
                "reason": action.reason,
                "risk_level": action.risk_level,
                "required_role": action.required_role,
                "expires_after_s": int(duration.total_seconds()) if duration else None,
                "expires_at": action.expires_at,
            },
            context=context,
        )
        _announce(action, None)
    return action


def _expire_if_due(action, now, context, before):
    """Mark an action expired when its time is up; True if it did. A pending action has until
    `expires_at` to reach its quorum, an approved one OPS_ACTION_APPROVED_TTL_HOURS after the
    quorum to be executed (an approval is not a standing licence)."""
    why = None
    if action.status == ActionStatus.PENDING_APPROVAL and action.expires_at <= now:
        why = "pending approval time ran out"
    elif (deadline := approved_deadline(action)) is not None and deadline <= now:
        why = "approved but not executed in time"
    if why:
        action.closed_at = now
        action.closed_reason = why
        _transition(
            action,
            ActionStatus.EXPIRED,
            actor=None,
            event=AuditEvent.EXPIRED,
            context=context,
            now=now,
            before=before,
            fields=("closed_at", "closed_reason"),
        )
        return True
    return False


def _wrong_state(action, verb):
    return Conflict(
        f"Cannot {verb} an action that is {action.status}.", code=f"action_{action.status}"
    )


def _vote(*, actor, action_id, decision, comment, params_hash, context):
    context = context or AuditContext.system()
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > MAX_TEXT:
        raise ValidationFailed("Comment too long.", errors={"comment": ["At most 1000 chars."]})
    if decision == Decision.REJECT and not comment:
        raise ValidationFailed("A rejection needs a reason.", errors={"reason": ["Required."]})
    verb = "approve" if decision == Decision.APPROVE else "reject"
    expired = False
    with transaction.atomic():
        action = _lock(action_id)
        now = timezone.now()
        scope = policy.parse_target(action.target)
        _refuse(policy.can_approve(actor, action.action_type, scope), verb)
        if actor.pk == action.requested_by_id:
            # Superusers included: maker-checker has no bypass.
            raise NotAllowed("The requester cannot vote on their own action.", code="self_approval")
        before, _pending = _recorded(action)
        expired = _expire_if_due(action, now, context, before)
        if not expired:
            if action.status != ActionStatus.PENDING_APPROVAL:
                raise _wrong_state(action, verb)
            _check_integrity(action, before)
            if params_hash and params_hash != action.params_hash:
                raise Conflict(
                    "The parameters you reviewed are not the action's parameters.",
                    code="params_hash_mismatch",
                )
            # The unique vote per approver decides, whatever the race.
            _insert_once(
                lambda: OpsApproval.objects.create(
                    action=action,
                    approver=actor,
                    approver_role=actor.role,
                    decision=decision,
                    comment=comment,
                    params_hash=action.params_hash,
                    created_at=now,
                ),
                constraint="opsapproval_one_vote",
                conflict=Conflict("You have already voted on this action.", code="already_voted"),
            )
            approvals = before["approvals"] + (decision == Decision.APPROVE)
            vote = {"decision": decision, "comment": comment, "params_hash": action.params_hash}
            audit_append(
                event=AuditEvent.APPROVAL,
                actor=actor,
                action_id=action.pk,
                before=before,
                after={**_snapshot(action, approvals), "vote": vote},
                context=context,
            )
            if decision == Decision.REJECT:
                # Veto: one eligible rejection ends it.
                action.closed_at, action.closed_reason = now, comment
                _transition(
                    action,
                    ActionStatus.REJECTED,
                    actor=actor,
                    event=AuditEvent.REJECTED,
                    context=context,
                    now=now,
                    before=before,
                    approvals=approvals,
                    fields=("closed_at", "closed_reason"),
                )
            elif _quorum(action, scope) is None:
                action.approved_at = now
                _transition(
                    action,
                    ActionStatus.APPROVED,
                    actor=actor,
                    event=AuditEvent.APPROVED,
                    context=context,
                    now=now,
                    before=before,
                    approvals=approvals,
                    fields=("approved_at",),
                )
    if expired:
        raise Conflict("The action expired before this vote.", code="action_expired")
    return action


def action_approve(*, actor, action_id, comment="", params_hash=None, context=None):
    """Approve: one vote per eligible approver (never the requester); flips to approved at
    quorum (and with the required role among the approvers for high/critical risk)."""
    return _vote(
        actor=actor,
        action_id=action_id,
        decision=Decision.APPROVE,
        comment=comment,
        params_hash=params_hash,
        context=context,
    )


def action_reject(*, actor, action_id, reason, context=None):
    """Reject (veto): a single eligible rejection rejects the action."""
    return _vote(
        actor=actor,
        action_id=action_id,
        decision=Decision.REJECT,
        comment=reason,
        params_hash=None,
        context=context,
    )


def action_cancel(*, actor, action_id, reason="", context=None):
    """Cancel: only the requester, only before execution."""
    context = context or AuditContext.system()
    with transaction.atomic():
        action = _lock(action_id)
        now = timezone.now()
        if action.requested_by_id != getattr(actor, "pk", None):
            raise NotAllowed("Only the requester may cancel an action.", code="not_requester")
        before, _pending = _recorded(action)
        # Past its deadline the action expired: that is recorded (committed), then refused.
        expired = _expire_if_due(action, now, context, before)
        if not expired:
            if action.status not in OPEN_STATUSES:
                raise _wrong_state(action, "cancel")
            _check_integrity(action, before)
            action.closed_at, action.closed_reason = now, (reason or "")[:MAX_TEXT]
            _transition(
                action,
                ActionStatus.CANCELLED,
                actor=actor,
                event=AuditEvent.CANCELLED,
                context=context,
                now=now,
                before=before,
                fields=("closed_at", "closed_reason"),
            )
    if expired:
        raise Conflict("The action expired before this cancel.", code="action_expired")
    return action


def action_execute(*, actor, action_id, context=None):
    """Execute an approved action, once: the effect and its outbox command commit together;
    a failing executor leaves no effect and marks the action failed with the error."""
    context = context or AuditContext.system()
    with transaction.atomic():
        action = _lock(action_id)
        now = timezone.now()
        scope = policy.parse_target(action.target)
        _refuse(policy.can_execute(actor, action.action_type, scope), "execute")
        before, _pending = _recorded(action)
        # Approved too long ago: the expiry is recorded (committed), then refused below.
        expired = _expire_if_due(action, now, context, before)
        if not expired:
            action = _execute_locked(
                action, actor=actor, scope=scope, now=now, context=context, before=before
            )
    if expired:
        raise Conflict("The action's approval expired before execution.", code="action_expired")
    return action


def _quorum(action, scope):
    """None when the action's approvals carry it, else why not: `quorum_not_reached` (too
    few approvals of these parameters, or none by the required role for high/critical
    risk) or `quorum_lost` (enough were given, but approvers have since been deactivated
    or lost their eligibility to approve this type on this target: their votes stay on
    record but no longer count). One query for the votes and their approvers."""
    votes = list(
        action.approvals.filter(
            decision=Decision.APPROVE, params_hash=action.params_hash
        ).select_related("approver")
    )

    def carries(roles):
        if len(roles) < action.required_approvals:
            return False
        return not action.required_role or action.required_role in roles

    if not carries([v.approver_role for v in votes]):
        return "quorum_not_reached"
    live = [
        v.approver.role
        for v in votes
        if v.approver_id != action.requested_by_id
        and policy.can_approve(v.approver, action.action_type, scope)[0]
    ]
    return None if carries(live) else "quorum_lost"


def _execute_locked(action, *, actor, scope, now, context, before):
    """The body of action_execute, on the locked row (refusals raise and change nothing):
    approved -> executed, or failed with the error, in one UPDATE of the action."""
    if action.status != ActionStatus.APPROVED:
        raise _wrong_state(action, "execute")
    _check_integrity(action, before)
    short = _quorum(action, scope)
    if short == "quorum_not_reached":
        raise Conflict("Approvals do not reach the quorum.", code=short)
    if short == "quorum_lost":
        raise Conflict(
            "Approvers have since been deactivated or lost their eligibility: the "
            "remaining approvals do not reach the quorum. Cancel and request again.",
            code="quorum_lost",
        )
    try:
        effect_before, effect_after = _apply_effect(
            action, OutboxPhase.EXECUTE, executor_for(action.action_type).execute, actor, now
        )
    except Exception as exc:  # noqa: BLE001 - any failure must fail the action, not 500
        action.error = _error_text(exc)
        action.closed_at = now
        _transition(
            action,
            ActionStatus.FAILED,
            actor=actor,
            event=AuditEvent.FAILED,
            context=context,
            now=now,
            before=before,
            extra_after={"error": action.error},
            fields=("error", "closed_at"),
        )
        return action
    action.result = {"before": effect_before, "after": effect_after}
    action.executed_at, action.executed_by = now, actor
    if action.effect_duration:
        action.rollback_due_at = now + action.effect_duration
    _transition(
        action,
        ActionStatus.EXECUTED,
        actor=actor,
        event=AuditEvent.EXECUTED,
        context=context,
        now=now,
        before=before,
        extra_after={"effect": action.result, "rollback_due_at": action.rollback_due_at},
        fields=("result", "executed_at", "executed_by", "rollback_due_at"),
    )
    return action


def _apply_effect(action, phase, step, actor, now):
    """Run an executor step (execute or rollback) and enqueue its command in the outbox.

    One savepoint: if the step or the outbox write fails, none of it stays.
    Returns the step's (before, after); raises whatever the step raised.
    """
    with transaction.atomic():
        before, after = step(action, now)
        outbox_enqueue(
            action=action,
            phase=phase,
            effect={"before": before, "after": after},
            actor=actor,
            now=now,
        )
    return before, after


def _error_text(exc):
    """What an action records of an executor failure (bounded to its column)."""
    return f"{type(exc).__name__}: {exc}"[:2000]


def action_rollback(*, actor, action_id, reason, context=None, automatic=False):
    """Undo an executed action: manually by two different eligible people, or by the system
    when its duration ends.

    Manual: the first call records a rollback request (audited `rollback_requested`, the
    action stays executed; the API answers 202); a call by another eligible person (never the
    one who asked, superusers included) performs it. The same person asking twice is a 409
    `already_requested`. If the one who asked is no longer eligible when another confirms,
    their request lapses and the confirming call becomes the new request. Automatic (end of
    `expires_after`): one step, the duration was approved with the action.

    The rollback command goes through the outbox like the execution did. When the
    effect cannot be undone (state changed since, or the type is irreversible) the
    action stays executed, the refusal is audited, and a 409 is raised.
    """
    context = context or AuditContext.system("rollback")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_TEXT:
        raise ValidationFailed("A rollback needs a reason.", errors={"reason": ["Required."]})
    refusal = None
    with transaction.atomic():
        action = _lock(action_id)
        now = timezone.now()
        scope = policy.parse_target(action.target)
        if not automatic:
            _refuse(policy.can_execute(actor, action.action_type, scope), "roll back")
        if action.status != ActionStatus.EXECUTED:
            raise _wrong_state(action, "roll back")
        if not policy.POLICIES[action.action_type].reversible:
            raise Conflict(f"{action.action_type} cannot be rolled back.", code="not_reversible")
        before, pending = _recorded(action)
        _check_integrity(action, before)
        if not automatic:
            if pending and pending.requested_by_id == actor.pk:
                raise Conflict(
                    "You already requested this rollback: another eligible person must confirm it.",
                    code="already_requested",
                )
            lapsed = None
            if (
                pending
                and not policy.can_execute(pending.requested_by, action.action_type, scope)[0]
            ):
                lapsed = _rollback_request_close(pending, RollbackOutcome.LAPSED, now)
                pending = None
            if pending is None:
                return _rollback_request_open(
                    action,
                    actor=actor,
                    reason=reason,
                    now=now,
                    context=context,
                    before=before,
                    lapsed=lapsed,
                )
        request_info = None
        try:
            _undone_from, restored = _apply_effect(
                action, OutboxPhase.ROLLBACK, executor_for(action.action_type).rollback, actor, now
            )
        except Exception as exc:  # noqa: BLE001 - recorded and answered as 409
            refusal = _error_text(exc)
            if pending:
                # Refused: a new attempt needs two people again.
                request_info = _rollback_request_close(
                    pending, RollbackOutcome.ROLLBACK_FAILED, now
                )
            action.error = refusal
            action.rollback_due_at = None  # do not retry every minute; ops must look
            action.updated_at = now
            action.save(update_fields=["error", "rollback_due_at", "updated_at"])
            audit_append(
                event=AuditEvent.ROLLBACK_FAILED,
                actor=actor,
                action_id=action.pk,
                before=before,
                after={
                    # The open request (if any) is closed: a retry needs two people again.
                    **_snapshot(action, before["approvals"]),
                    "error": refusal,
                    "reason": reason,
                    "rollback_request": request_info,
                },
                context=context,
            )
        else:
            if pending:
                request_info = _rollback_request_close(pending, RollbackOutcome.ROLLED_BACK, now)
            action.closed_at = now
            action.closed_reason = pending.reason if pending else reason
            action.rollback_due_at = None
            _transition(
                action,
                ActionStatus.ROLLED_BACK,
                actor=actor,
                event=AuditEvent.ROLLED_BACK,
                context=context,
                now=now,
                before=before,
                extra_after={
                    "reason": reason,
                    "automatic": automatic,
                    "restored": restored,
                    "rollback_request": request_info,
                },
                fields=("closed_at", "closed_reason", "rollback_due_at"),
            )
    if refusal:
        raise Conflict(f"Rollback refused: {refusal}", code="rollback_failed")
    return action


def _rollback_request_close(request, outcome, now):
    """Close an open rollback request; returns what the audit row records of it."""
    request.closed_at, request.outcome = now, outcome
    request.save(update_fields=["closed_at", "outcome"])
    return {
        "by": request.requested_by.username,
        "by_id": request.requested_by_id,
        "role": request.requested_by_role,
        "reason": request.reason,
        "at": request.created_at,
        "outcome": outcome,
    }


def _rollback_request_open(action, *, actor, reason, now, context, before, lapsed):
    """The first half of a manual rollback: record who asks and why (locked action row)."""
    _insert_once(
        lambda: RollbackRequest.objects.create(
            action=action,
            requested_by=actor,
            requested_by_role=actor.role,
            reason=reason,
            created_at=now,
        ),
        constraint="rollbackrequest_one_open",
        conflict=Conflict("A rollback request is already open.", code="already_requested"),
    )
    action.updated_at = now
    action.save(update_fields=["updated_at"])
    audit_append(
        event=AuditEvent.ROLLBACK_REQUESTED,
        actor=actor,
        action_id=action.pk,
        before=before,
        after={
            **_snapshot(action, before["approvals"], actor.pk),
            "reason": reason,
            "lapsed_request": lapsed,
        },
        context=context,
    )
    return action


def actions_expire_pending(*, now=None):
    """Expire every pending action whose time is up, and every approved action not executed
    within OPS_ACTION_APPROVED_TTL_HOURS of its quorum; returns how many."""
    now = now or timezone.now()
    approved_before = now - timedelta(hours=settings.OPS_ACTION_APPROVED_TTL_HOURS)
    ids = list(
        OpsAction.objects.filter(
            Q(status=ActionStatus.PENDING_APPROVAL, expires_at__lte=now)
            | Q(status=ActionStatus.APPROVED, approved_at__lte=approved_before)
        ).values_list("pk", flat=True)
    )
    count = 0
    context = AuditContext.system("expire")
    for action_id in ids:
        with transaction.atomic():
            action = _lock(action_id)
            before, _pending = _recorded(action)
            if _expire_if_due(action, timezone.now(), context, before):
                count += 1
    return count


def actions_rollback_due(*, now=None):
    """Roll back every executed action whose duration has ended; returns (done, refused)."""
    now = now or timezone.now()
    ids = list(
        OpsAction.objects.filter(
            status=ActionStatus.EXECUTED, rollback_due_at__lte=now
        ).values_list("pk", flat=True)
    )
    done = refused = 0
    for action_id in ids:
        try:
            action_rollback(
                actor=None,
                action_id=action_id,
                automatic=True,
                reason="duration ended (expires_after)",
                context=AuditContext.system("auto-rollback"),
            )
            done += 1
        except Conflict:
            refused += 1
    return done, refused
