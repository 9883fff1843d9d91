"""One ops action: everything about it, its audit trail, and the buttons this user may use
now (selectors.action_transitions, the same rule as the admin); each button posts to one
service through opsactions.transitions."""

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.errors import DomainError, NotFound
from opsactions.audit import context_from_request
from opsactions.choices import ActionStatus, Decision, Transition
from opsactions.selectors import (
    action_audit,
    action_get,
    action_transitions,
    approvals_summary,
    approved_deadline,
    rollback_request_open,
)
from opsactions.transitions import TRANSITIONS, transition_apply
from opsactions.web.access import ops_page
from opsactions.web.panels import detail_panels


def _effect_rows(result):
    """[(key, before, after)] of an executed action's effect (None: no control row)."""
    before = (result or {}).get("before")
    after = (result or {}).get("after")
    if not isinstance(before, dict) and not isinstance(after, dict):
        return []
    keys = sorted(set(before or {}) | set(after or {}))
    return [(k, (before or {}).get(k), (after or {}).get(k)) for k in keys]


def _idle_note(user, action, transitions):
    """Why this user has no button here (so an empty panel is never a puzzle)."""
    if transitions:
        return ""
    if action.status == ActionStatus.PENDING_APPROVAL:
        if action.requested_by_id == user.pk:
            return _("You requested this action: other approvers decide. You may cancel it.")
        if any(a.approver_id == user.pk for a in action.approvals.all()):
            return _("You have voted on this action.")
        return _("Your role or scope may not vote on this action.")
    if action.status == ActionStatus.APPROVED:
        return _("Approved: waiting for an eligible person to execute it.")
    if action.status == ActionStatus.EXECUTED:
        pending = rollback_request_open(action.pk)
        if pending and pending.requested_by_id == user.pk:
            return _("You asked for this rollback: a second eligible person must confirm it.")
        return _("Executed. Nothing left for you to do here.")
    return _("This action is closed.")


def _audit_rows(action_id):
    rows = list(action_audit(action_id))
    for row in rows:
        row.after_text = json.dumps(row.after, indent=2, sort_keys=True, ensure_ascii=False)
    return rows


def _render(request, action, *, error="", failed="", text="", status=200):
    user = request.user
    transitions = action_transitions(user, action)
    count, required, _names = approvals_summary(action)
    context = {
        "action": action,
        "approvals_count": count,
        "approvals_required": required,
        "approvals": list(action.approvals.all()),
        "audit": _audit_rows(action.pk),
        "transitions": [str(t) for t in transitions],
        "can_vote": Transition.APPROVE in transitions,
        "idle_note": _idle_note(user, action, transitions),
        "rollback_request": (
            rollback_request_open(action.pk) if action.status == ActionStatus.EXECUTED else None
        ),
        "approved_deadline": approved_deadline(action),
        "params": sorted(action.params.items()),
        "effect": _effect_rows(action.result),
        "is_requester": action.requested_by_id == user.pk,
        "error": error,
        "failed": failed,
        "text": text,
        "decision_approve": Decision.APPROVE,
        "panels": detail_panels(request, action),
    }
    return render(request, "opsactions/console_detail.html", context, status=status)


def _visible(user, action_id):
    try:
        return action_get(user, action_id)
    except NotFound:
        raise Http404("Ops action not found.")


@ops_page
def action_detail(request, action_id):
    """Everything about one action, its audit trail and the buttons valid for this user."""
    return _render(request, _visible(request.user, action_id))


def _done_message(request, verb, action):
    if verb == Transition.APPROVE:
        if action.status == ActionStatus.APPROVED:
            return messages.success(request, _("Approved: the quorum is reached."))
        count, required, _names = approvals_summary(action)
        text = _("Your approval is recorded (%(count)s of %(required)s).")
        return messages.success(request, text % {"count": count, "required": required})
    if verb == Transition.REJECT:
        return messages.success(request, _("Rejected: the action is closed."))
    if verb == Transition.EXECUTE:
        if action.status == ActionStatus.FAILED:
            return messages.error(
                request, _("Execution failed: %(error)s") % {"error": action.error}
            )
        return messages.success(request, _("Executed."))
    if verb == Transition.ROLLBACK:
        if action.status == ActionStatus.ROLLED_BACK:
            return messages.success(request, _("Rolled back."))
        return messages.success(
            request, _("Rollback requested: a second eligible person must confirm it.")
        )
    return messages.success(request, _("Cancelled."))


@require_POST
@ops_page
def action_transition(request, action_id, verb):
    """One button: call its service with the posted text; refusals shown with their status.

    One read of the action (who may see it) before the service locks it; success redirects
    with the service's own object, a refusal shows the action as read (it changed nothing),
    except after an expiry the service committed before refusing."""
    if verb not in Transition.values:
        raise Http404("Unknown transition.")
    action = _visible(request.user, action_id)
    text = request.POST.get("text", "")
    try:
        done = transition_apply(
            verb,
            actor=request.user,
            action_id=action.pk,
            text=text if TRANSITIONS[verb].text else "",
            params_hash=request.POST.get("params_hash") or None,
            context=context_from_request(request),
        )
    except DomainError as exc:
        if exc.code == "action_expired":
            action = _visible(request.user, action_id)
        return _render(
            request,
            action,
            error=f"{exc.detail} ({exc.code})",
            failed=verb,
            text=text,
            status=exc.status_code,
        )
    _done_message(request, verb, done)
    return redirect("ops-detail", action_id=done.pk)
