"""Writes of recommendations: intake, apply, reject, expiry, and following the ops action.

Every change locks the row, checks, changes and writes a RecommendationAudit row in one
transaction. Applying never acts by itself: it requests an ops action through
opsactions.services in the applying user's name, and that action follows its quorum.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from opsactions import services as ops
from opsactions.audit import AuditContext, jsonable
from opsactions.choices import OPEN_STATUSES, ActionStatus
from opsactions.models import OpsAction
from sira.choices import RecEvent, RecStatus
from sira.intake import recommendation_validate
from sira.models import Recommendation, RecommendationAudit
from sira.selectors import action_is_open, can_apply, recommendation_get

log = logging.getLogger(__name__)
MAX_TEXT = 1000
# What closes an ops action without effect: the recommendation may be applied again.
CLOSED_WITHOUT_EFFECT = (
    ActionStatus.REJECTED,
    ActionStatus.EXPIRED,
    ActionStatus.CANCELLED,
    ActionStatus.FAILED,
)
# Hooks run after an intake commits (alerts, auto-remediation): fn(rec_id).
_AFTER_INTAKE = []


def after_intake(fn):
    """Register fn(rec_id), run after each new recommendation commits."""
    _AFTER_INTAKE.append(fn)
    return fn


def _snap(rec):
    return {
        "status": rec.status,
        "ops_action": rec.ops_action_id,
        "superseded_by": rec.superseded_by_id,
    }


def recommendation_audit_append(
    rec, event, *, actor=None, label="", before=None, after=None, context=None, now=None
):
    """Append one row to a recommendation's audit trail (in the caller's transaction)."""
    RecommendationAudit.objects.create(
        recommendation=rec,
        event=event,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label or (getattr(actor, "username", "") if actor else "system"),
        before=jsonable(before or {}),
        after=jsonable(after if after is not None else _snap(rec)),
        request_id=context.request_id if context else "",
        at=now or timezone.now(),
    )


def _lock(rec_id):
    try:
        return (
            Recommendation.objects.select_related("ops_action")
            .select_for_update(of=("self",))
            .get(pk=rec_id)
        )
    except Recommendation.DoesNotExist:
        raise NotFound(f"Recommendation {rec_id} not found.", code="recommendation_not_found")


def recommendation_ingest(*, data, origin, now=None, context=None):
    """Take in one recommendation (validated); idempotent by external_id.

    Returns (recommendation, created). A newer recommendation for the same type and target
    supersedes the older `new` ones that have no open ops action.
    """
    now = now or timezone.now()
    if isinstance(data, dict) and isinstance(data.get("external_id"), str):
        # Redelivery: answered before validation (its valid_until may have passed since).
        existing = Recommendation.objects.filter(external_id=data["external_id"]).first()
        if existing:
            return existing, False
    fields = recommendation_validate(data, now=now)
    rec = Recommendation(**fields, origin=origin, created_at=now, updated_at=now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                rec.save(force_insert=True)
        except IntegrityError:
            existing = Recommendation.objects.filter(external_id=fields["external_id"]).first()
            if existing is None:
                raise
            return existing, False
        recommendation_audit_append(
            rec,
            RecEvent.RECEIVED,
            label=origin,
            after={**_snap(rec), "origin": origin, "model": rec.model_name},
            context=context,
            now=now,
        )
        older = (
            Recommendation.objects.select_for_update(of=("self",))
            .filter(rec_type=rec.rec_type, target=rec.target, status=RecStatus.NEW)
            .exclude(pk=rec.pk)
            .select_related("ops_action")
        )
        for old in older:
            if action_is_open(old):
                continue
            before = _snap(old)
            old.status, old.superseded_by, old.updated_at = RecStatus.SUPERSEDED, rec, now
            old.save(update_fields=["status", "superseded_by", "updated_at"])
            recommendation_audit_append(
                old, RecEvent.SUPERSEDED, label=origin, before=before, context=context, now=now
            )
        rec_id = rec.pk
        transaction.on_commit(lambda: _run_after_intake(rec_id))
    return rec, True


def _run_after_intake(rec_id):
    for fn in list(_AFTER_INTAKE):
        try:
            fn(rec_id)
        except Exception:  # noqa: BLE001 - a hook's failure must not undo the intake
            log.exception("SIRA after-intake hook %r failed for %s", fn, rec_id)


def _action_reason(rec):
    summary = str(rec.explanation.get("summary", ""))
    text = (
        f"SIRA recommendation #{rec.pk} ({rec.external_id}; {rec.model_name} "
        f"{rec.model_version}; confidence {rec.confidence}): {summary}"
    )
    return text[:MAX_TEXT]


def _check_open(rec, verb, now):
    if rec.status != RecStatus.NEW:
        raise Conflict(
            f"Cannot {verb} a recommendation that is {rec.status}.", code=f"rec_{rec.status}"
        )
    if action_is_open(rec):
        raise Conflict("This recommendation already has an open ops action.", code="action_open")
    if rec.valid_until <= now:
        raise Conflict("This recommendation is past its validity.", code="rec_expired")


def recommendation_apply(*, actor, rec_id, context=None, label="", auto=False):
    """Request the proposed ops action in `actor`'s name, with the recommendation as its
    reason and link. The action then follows its quorum like any other; this never
    approves or executes it."""
    context = context or AuditContext.system("sira-apply")
    if not auto:
        recommendation_get(actor, rec_id)  # 404 when not visible to the actor
        if not can_apply(actor):
            raise NotAllowed("Your role may not apply recommendations.", code="role_not_eligible")
    with transaction.atomic():
        rec = _lock(rec_id)
        now = timezone.now()
        _check_open(rec, "apply", now)
        before = _snap(rec)
        action = ops.action_create(
            actor=actor,
            action_type=rec.action_type,
            target=rec.target,
            params=rec.action_params,
            reason=_action_reason(rec),
            context=context,
        )
        rec.ops_action, rec.updated_at = action, now
        rec.save(update_fields=["ops_action", "updated_at"])
        recommendation_audit_append(
            rec,
            RecEvent.AUTO_APPLIED if auto else RecEvent.APPLY_REQUESTED,
            actor=actor,
            label=label,
            before=before,
            after={**_snap(rec), "risk_level": action.risk_level},
            context=context,
            now=now,
        )
    return action


def recommendation_reject(*, actor, rec_id, reason, context=None):
    """Reject a recommendation with a reason (no ops action may be open for it)."""
    context = context or AuditContext.system("sira-reject")
    recommendation_get(actor, rec_id)
    if not can_apply(actor):
        raise NotAllowed("Your role may not reject recommendations.", code="role_not_eligible")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_TEXT:
        raise ValidationFailed(
            "A rejection needs a reason.", errors={"reason": [f"Required, at most {MAX_TEXT}."]}
        )
    with transaction.atomic():
        rec = _lock(rec_id)
        now = timezone.now()
        if rec.status != RecStatus.NEW:
            raise Conflict(
                f"Cannot reject a recommendation that is {rec.status}.", code=f"rec_{rec.status}"
            )
        if action_is_open(rec):
            raise Conflict("Its ops action is open: reject the action instead.", code="action_open")
        before = _snap(rec)
        rec.status, rec.decided_by, rec.decided_at = RecStatus.REJECTED, actor, now
        rec.decision_reason, rec.updated_at = reason, now
        rec.save(
            update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"]
        )
        recommendation_audit_append(
            rec,
            RecEvent.REJECTED,
            actor=actor,
            before=before,
            after={**_snap(rec), "reason": reason},
            context=context,
            now=now,
        )
    return rec


def recommendations_expire(*, now=None):
    """Expire every `new` recommendation past valid_until with no open action; how many."""
    now = now or timezone.now()
    ids = list(
        Recommendation.objects.filter(status=RecStatus.NEW, valid_until__lte=now)
        .exclude(ops_action__status__in=OPEN_STATUSES)
        .values_list("pk", flat=True)
    )
    count = 0
    for rec_id in ids:
        with transaction.atomic():
            rec = _lock(rec_id)
            if rec.status != RecStatus.NEW or rec.valid_until > now or action_is_open(rec):
                continue
            before = _snap(rec)
            rec.status, rec.decided_at, rec.updated_at = RecStatus.EXPIRED, now, now
            rec.save(update_fields=["status", "decided_at", "updated_at"])
            recommendation_audit_append(rec, RecEvent.EXPIRED, label="beat", before=before, now=now)
            count += 1
    return count


def recommendation_follow_action(*, action_id, status):
    """The recommendation follows its ops action: applied when executed, `new` again (open
    to apply or reject) when the action closed without effect."""
    with transaction.atomic():
        rec = (
            Recommendation.objects.select_for_update()
            .filter(ops_action_id=action_id)
            .order_by("-id")
            .first()
        )
        if rec is None:
            return None
        now = timezone.now()
        before = _snap(rec)
        if status == ActionStatus.EXECUTED and rec.status != RecStatus.APPLIED:
            action = OpsAction.objects.get(pk=action_id)
            rec.status, rec.decided_at, rec.updated_at = RecStatus.APPLIED, now, now
            rec.decided_by_id = action.requested_by_id
            rec.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])
            recommendation_audit_append(
                rec,
                RecEvent.APPLIED,
                label="ops action",
                before=before,
                after={**_snap(rec), "action_status": status},
                now=now,
            )
        elif status in CLOSED_WITHOUT_EFFECT and rec.status == RecStatus.NEW:
            rec.status, rec.decided_at, rec.decided_by, rec.updated_at = (
                RecStatus.NEW,
                None,
                None,
                now,
            )
            rec.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])
            recommendation_audit_append(
                rec,
                RecEvent.REOPENED,
                label="ops action",
                before=before,
                after={**_snap(rec), "action_status": status},
                now=now,
            )
        return rec
