"""Auto-remediation (the seed's Phase 2): off by default. When ops switch it on, a new
recommendation whose action type the policy names, whose confidence reaches the policy's
minimum and whose action is LOW risk is applied without waiting for a person:

- the ops action is requested by the SIRA service account (SIRA_SERVICE_USERNAME), and
  approved and executed by a distinct principal, the "auto-remediation policy" account
  (SIRA_AUTO_PRINCIPAL_USERNAME, no password): maker and checker stay two accounts, and
  the opsactions audit chain records the principal as the approver and executor;
- at most `max_per_hour` actions per hour (counted from the audit, under the policy
  row's lock), a dry-run mode that only records what it would have done, and a kill
  switch that wins over everything;
- it never applies above low risk, whatever the policy says (checked again here);
- each auto-applied action is announced (log, the recommendation's audit, and the
  announcement hooks, e.g. an alert) and is rolled back by people like any other
  executed action (two eligible people, opsactions.services.action_rollback).
"""

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from accounts.scope import Scope
from common.errors import DomainError, ValidationFailed
from opsactions import policy as ops_policy
from opsactions import services as ops
from opsactions.audit import AuditContext
from opsactions.choices import ActionStatus, ActionType, RiskLevel
from sira.choices import RecEvent, RecStatus
from sira.models import AutoRemediationPolicy, Recommendation, RecommendationAudit
from sira.services import after_intake, recommendation_apply, recommendation_audit_append

log = logging.getLogger(__name__)
LABEL = "auto-remediation policy"
# Hooks told of each auto-applied action: fn(rec, action) (the alert integration).
ANNOUNCERS = []


def low_risk_types():
    """Action types whose base risk is low (the only ones a policy may name)."""
    return sorted(t for t, rule in ops_policy.POLICIES.items() if rule.base_risk == RiskLevel.LOW)


def principal_ensure():
    """The auto-remediation principal: an ops_admin account without a usable password."""
    user = User.objects.filter(username=settings.SIRA_AUTO_PRINCIPAL_USERNAME).first()
    if user is None:
        from accounts.services import user_create

        user = user_create(
            username=settings.SIRA_AUTO_PRINCIPAL_USERNAME,
            password=secrets.token_urlsafe(32),
            role=Role.OPS_ADMIN,
            scope="platform",
        )
        user.set_unusable_password()
        user.is_staff = False
        user.save(update_fields=["password", "is_staff"])
    return user


def policy_update(*, actor, label="", **changes):
    """Change the policy (audited); enabling it provisions the principal. Fields: enabled,
    killed, dry_run, action_types, min_confidence, max_per_hour."""
    allowed = {"enabled", "killed", "dry_run", "action_types", "min_confidence", "max_per_hour"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("Unknown policy field.", errors={k: ["Unknown."] for k in unknown})
    errors = {}
    if "action_types" in changes:
        types = changes["action_types"]
        bad = [t for t in types if t not in low_risk_types()]
        if bad:
            errors["action_types"] = [f"Only low-risk types ({', '.join(low_risk_types())})."]
        changes["action_types"] = sorted(set(types))
    if "min_confidence" in changes:
        value = Decimal(str(changes["min_confidence"]))
        if not Decimal(0) <= value <= Decimal(1):
            errors["min_confidence"] = ["Between 0 and 1."]
        changes["min_confidence"] = value
    if "max_per_hour" in changes and not 0 <= int(changes["max_per_hour"]) <= 1000:
        errors["max_per_hour"] = ["Between 0 and 1000."]
    if errors:
        raise ValidationFailed("Invalid policy.", errors=errors)
    with transaction.atomic():
        AutoRemediationPolicy.objects.get_or_create(pk=1)
        row = AutoRemediationPolicy.objects.select_for_update().get(pk=1)
        before = policy_snapshot(row)
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = timezone.now()
        row.updated_by = actor if getattr(actor, "pk", None) else None
        row.save()
        if row.enabled:
            principal_ensure()
        RecommendationAudit.objects.create(
            recommendation=None,
            event=RecEvent.POLICY_CHANGED,
            actor=row.updated_by,
            actor_label=label or getattr(actor, "username", "") or "system",
            before=before,
            after=policy_snapshot(row),
            at=row.updated_at,
        )
    return row


def policy_snapshot(row):
    """The auto-remediation policy as recorded in audit rows and printed by the command."""
    return {
        "enabled": row.enabled,
        "killed": row.killed,
        "dry_run": row.dry_run,
        "action_types": list(row.action_types),
        "min_confidence": format(row.min_confidence, "f"),
        "max_per_hour": row.max_per_hour,
    }


def _decline(rec, why, now, **extra):
    recommendation_audit_append(
        rec, RecEvent.AUTO_SKIPPED, label=LABEL, after={"reason": why, **extra}, now=now
    )
    return None


def auto_remediate(rec_id, *, now=None):
    """Apply `rec_id` under the policy if it qualifies; returns the executed action or None
    (every decision after the policy's own on/off is recorded in the audit)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not AutoRemediationPolicy.objects.filter(pk=1).exists():
            return None
        row = AutoRemediationPolicy.objects.select_for_update().get(pk=1)  # serializes runs
        if not row.enabled:
            return None
        rec = Recommendation.objects.select_for_update().get(pk=rec_id)
        if row.killed:
            return _decline(rec, "kill_switch", now)
        if rec.status != RecStatus.NEW or rec.ops_action_id:
            return _decline(rec, "not_open", now)
        if rec.action_type not in row.action_types:
            return _decline(rec, "type_not_in_policy", now)
        if rec.confidence < row.min_confidence:
            return _decline(rec, "confidence_below_minimum", now)
        risk = ops_policy.risk_of(
            ActionType(rec.action_type), Scope.parse(rec.target), rec.action_params
        )
        if risk != RiskLevel.LOW:
            return _decline(rec, "not_low_risk", now, risk=risk)
        done = RecommendationAudit.objects.filter(
            event=RecEvent.AUTO_APPLIED, at__gt=now - timedelta(hours=1)
        ).count()
        if done >= row.max_per_hour:
            return _decline(rec, "hourly_limit", now, applied_last_hour=done)
        if row.dry_run:
            recommendation_audit_append(
                rec,
                RecEvent.AUTO_DRY_RUN,
                label=LABEL,
                after={"would_apply": rec.action_type, "target": rec.target, "risk": risk},
                now=now,
            )
            return None
        requester = User.objects.filter(
            username=settings.SIRA_SERVICE_USERNAME, role=Role.SIRA_SERVICE, is_active=True
        ).first()
        principal = principal_ensure()
        if requester is None or requester.pk == principal.pk:
            return _decline(rec, "no_service_account", now)
        context = AuditContext.system("sira-auto")
        try:
            with transaction.atomic():
                action = recommendation_apply(
                    actor=requester, rec_id=rec.pk, context=context, label=LABEL, auto=True
                )
                ops.action_approve(
                    actor=principal,
                    action_id=action.pk,
                    comment=f"{LABEL}: confidence {rec.confidence} >= {row.min_confidence}",
                    context=context,
                )
                action = ops.action_execute(actor=principal, action_id=action.pk, context=context)
        except DomainError as exc:
            return _decline(rec, "refused", now, code=exc.code, detail=exc.detail)
        Recommendation.objects.filter(pk=rec.pk).update(auto_applied=True)
    if action.status == ActionStatus.EXECUTED:
        log.warning(
            "auto-remediation applied %s on %s (action %s, recommendation %s)",
            action.action_type,
            action.target,
            action.pk,
            rec.external_id,
        )
        for announce in ANNOUNCERS:
            try:
                announce(rec, action)
            except Exception:  # noqa: BLE001 - an announcement must not undo the action
                log.exception("auto-remediation announcement failed")
    return action


@after_intake
def _on_intake(rec_id):
    auto_remediate(rec_id)
