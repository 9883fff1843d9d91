"""Writes of the alerts app: raise (idempotent per fingerprint), acknowledge, resolve,
manual create. Notifications leave after the commit."""

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import ScopeKind
from accounts.scope import Scope, is_platform_staff
from alerts.choices import (
    LIVE_STATUSES,
    AlertCategory,
    AlertEventKind,
    AlertSource,
    AlertStatus,
    Severity,
)
from alerts.models import Alert, AlertEvent, RuleSeriesState
from common.errors import Conflict, NotAllowed, NotFound, ValidationFailed


def fingerprint_for(*, source, dedupe_key="", rule=None, series=""):
    """The identity of an alert: rule + series for threshold alerts, else source + dedupe_key."""
    if rule is not None:
        text = f"rule|{rule.key}|{series}"
    else:
        text = f"{source}|{dedupe_key}"
    return hashlib.sha256(text.encode()).hexdigest()


def _tenant_keys(scope, labels):
    """merchant_id / agent_id / bank_id / country of an alert, from its scope and labels."""
    keys = {"merchant_id": "", "agent_id": "", "bank_id": "", "country": ""}
    if scope.kind == ScopeKind.MERCHANT:
        keys["merchant_id"] = scope.id
    elif scope.kind == ScopeKind.AGENT:
        keys["agent_id"] = scope.id
    elif scope.kind == ScopeKind.BANK:
        keys["bank_id"] = scope.id
    elif scope.kind == ScopeKind.REGION:
        keys["country"] = scope.id
    country = str(labels.get("country") or "")
    if not keys["country"] and len(country) == 2 and country.isalpha() and country.isupper():
        keys["country"] = country
    return keys


def _choice(value, choices, field):
    if value not in choices.values:
        raise ValidationFailed(
            f"Unknown {field} {value!r}.", errors={field: [f"Must be one of {choices.values}."]}
        )
    return value


def _after_commit(alert_id, change):
    from alerts import notifications

    transaction.on_commit(lambda: notifications.alert_changed(alert_id, change))


def alert_raise(
    *,
    source,
    category,
    severity,
    scope,
    title,
    dedupe_key,
    message="",
    labels=None,
    value=None,
    threshold=None,
    rule=None,
    now=None,
    series=None,
):
    """Open an alert, or while one with the same fingerprint is live bump its occurrences."""
    _choice(source, AlertSource, "source")
    _choice(category, AlertCategory, "category")
    _choice(severity, Severity, "severity")
    parsed = scope if isinstance(scope, Scope) else Scope.parse(scope)
    labels = dict(labels or {})
    if not title:
        raise ValidationFailed("A title is required.", errors={"title": ["Required."]})
    if rule is None and not dedupe_key:
        raise ValidationFailed("A dedupe_key is required.", errors={"dedupe_key": ["Required."]})
    now = now or timezone.now()
    value = None if value is None else Decimal(str(value))
    threshold = None if threshold is None else Decimal(str(threshold))
    fingerprint = fingerprint_for(
        source=source, dedupe_key=dedupe_key, rule=rule, series=series or str(parsed)
    )
    for _attempt in range(2):
        try:
            with transaction.atomic():
                live = (
                    Alert.objects.select_for_update()
                    .filter(fingerprint=fingerprint, status__in=LIVE_STATUSES)
                    .first()
                )
                if live is not None:
                    live.occurrences += 1
                    live.last_seen = max(live.last_seen, now)
                    fields = ["occurrences", "last_seen"]
                    if value is not None:
                        live.value = value
                        fields.append("value")
                    if threshold is not None:
                        live.threshold = threshold
                        fields.append("threshold")
                    if severity != live.severity:
                        live.severity = severity
                        fields.append("severity")
                    live.save(update_fields=fields)
                    AlertEvent.objects.create(
                        alert=live, at=now, kind=AlertEventKind.REPEATED, value=value
                    )
                    _after_commit(live.pk, "repeated")
                    return live
                alert = Alert.objects.create(
                    fingerprint=fingerprint,
                    rule=rule,
                    source=source,
                    severity=severity,
                    category=category,
                    scope=str(parsed),
                    labels=labels,
                    title=title[:200],
                    message=message,
                    dedupe_key=dedupe_key[:200],
                    value=value,
                    threshold=threshold,
                    first_seen=now,
                    last_seen=now,
                    **_tenant_keys(parsed, labels),
                )
                AlertEvent.objects.create(
                    alert=alert, at=now, kind=AlertEventKind.OPENED, value=value
                )
                _after_commit(alert.pk, "opened")
                return alert
        except IntegrityError:
            # Another process opened the same fingerprint between our read and insert:
            # the second pass finds it live and counts an occurrence.
            continue
    raise Conflict("The alert changed concurrently; try again.", code="concurrent_change")


def _locked_visible(actor, alert_id):
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None or not can_act_on(actor, alert):
        raise NotFound("Unknown alert.", code="alert_not_found")
    if actor.role == "sira_service":
        raise NotAllowed("The SIRA service may not change alerts.")
    return alert


def can_act_on(user, alert):
    """Whether `user` may see (and so acknowledge or resolve) `alert`."""
    from alerts.selectors import alert_queryset

    return alert_queryset(user).filter(pk=alert.pk).exists()


@transaction.atomic
def alert_acknowledge(*, actor, alert_id, comment="", now=None):
    """Acknowledge an open alert (it stays live: its fingerprint keeps counting)."""
    now = now or timezone.now()
    alert = _locked_visible(actor, alert_id)
    if alert.status != AlertStatus.OPEN:
        raise Conflict(f"The alert is {alert.status}, not open.", code="not_open")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = actor
    alert.acknowledged_at = now
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    AlertEvent.objects.create(
        alert=alert, at=now, kind=AlertEventKind.ACKNOWLEDGED, actor=actor, comment=comment
    )
    _after_commit(alert.pk, "acknowledged")
    return alert


@transaction.atomic
def alert_resolve(*, actor, alert_id, comment="", now=None):
    """Resolve a live alert by hand (actor) or by evaluation (actor None)."""
    now = now or timezone.now()
    if actor is None:
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound("Unknown alert.", code="alert_not_found")
    else:
        alert = _locked_visible(actor, alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("The alert is already resolved.", code="already_resolved")
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by = actor
    alert.resolved_at = now
    alert.save(update_fields=["status", "resolved_by", "resolved_at"])
    if actor is not None and alert.rule_id:
        # Resolved by hand: its series starts over (pending, then a new alert if it
        # still breaches after `for`) instead of staying silently "firing".
        RuleSeriesState.objects.filter(rule_id=alert.rule_id, series=alert.scope).delete()
    AlertEvent.objects.create(
        alert=alert, at=now, kind=AlertEventKind.RESOLVED, actor=actor, comment=comment
    )
    _after_commit(alert.pk, "resolved")
    return alert


def alert_create_manual(
    *, actor, category, severity, scope, title, message="", labels=None, dedupe_key=""
):
    """A manual alert raised by Molam staff, on any scope."""
    parsed = Scope.parse(scope)
    if not is_platform_staff(actor) or actor.role == "sira_service":
        raise NotAllowed("Only Molam staff may raise manual alerts.", code="staff_only")
    now = timezone.now()
    alert = alert_raise(
        source=AlertSource.MANUAL,
        category=category,
        severity=severity,
        scope=parsed,
        title=title,
        message=message,
        labels=labels,
        dedupe_key=dedupe_key or f"manual:{actor.pk}:{now.isoformat()}",
        now=now,
    )
    if alert.created_by_id is None and alert.occurrences == 1:
        Alert.objects.filter(pk=alert.pk).update(created_by=actor)
        alert.created_by = actor
    return alert


# ------------------------------------------------------------------ configuration


def _may_manage(actor, owner_scope):
    """Staff manage the platform's rules, silences and contact points (manage_alert_rules);
    a tenant user manages its own tenant's silences and contact points."""
    if actor.role == "sira_service":
        return False
    if owner_scope == "platform":
        return is_platform_staff(actor) and actor.has_perm("accounts.manage_alert_rules")
    return True


def _require_owner(actor):
    from alerts.selectors import owner_scope_of

    owner = owner_scope_of(actor)
    if owner is None or not _may_manage(actor, owner):
        raise NotAllowed("You may not manage alert configuration.", code="permission_denied")
    return owner


@transaction.atomic
def rule_save(*, actor, data, rule_id=None):
    """Create or update an alert rule (staff with manage_alert_rules)."""
    from alerts.models import AlertRule

    if _require_owner(actor) != "platform":
        raise NotAllowed("Only staff manage alert rules.", code="permission_denied")
    if rule_id is None:
        if AlertRule.objects.filter(key=data.get("key")).exists():
            raise Conflict("A rule with this key exists.", code="duplicate_key")
        return AlertRule.objects.create(**data)
    rule = AlertRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("Unknown rule.", code="rule_not_found")
    if "key" in data and data["key"] != rule.key:
        if AlertRule.objects.filter(key=data["key"]).exclude(pk=rule.pk).exists():
            raise Conflict("A rule with this key exists.", code="duplicate_key")
    for name, value in data.items():
        setattr(rule, name, value)
    rule.save(update_fields=[*data.keys(), "updated_at"])
    return rule


def rule_delete(*, actor, rule_id):
    """Delete a rule; its live alerts are resolved first (nothing would resolve them)."""
    from alerts.models import AlertRule

    if _require_owner(actor) != "platform":
        raise NotAllowed("Only staff manage alert rules.", code="permission_denied")
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound("Unknown rule.", code="rule_not_found")
        for alert_id in rule.alerts.filter(status__in=LIVE_STATUSES).values_list("pk", flat=True):
            alert_resolve(actor=None, alert_id=alert_id, comment=f"rule {rule.key} deleted")
        rule.delete()


def _check_scope_owned(owner, scope):
    if owner != "platform" and scope and scope != owner:
        raise NotAllowed(f"You may not act on scope {scope}.", code="scope_forbidden")


@transaction.atomic
def silence_create(*, actor, data):
    """A silence owned by the actor's tenant (platform for staff)."""
    from alerts.models import Silence

    owner = _require_owner(actor)
    _check_scope_owned(owner, data.get("scope", ""))
    return Silence.objects.create(owner_scope=owner, created_by=actor, **data)


@transaction.atomic
def silence_expire(*, actor, silence_id, now=None):
    """End a silence now (silences are kept, never deleted: who silenced what stays)."""
    from alerts.models import Silence
    from alerts.selectors import owned_queryset

    _require_owner(actor)
    now = now or timezone.now()
    silence = owned_queryset(Silence, actor).select_for_update().filter(pk=silence_id).first()
    if silence is None:
        raise NotFound("Unknown silence.", code="silence_not_found")
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
        silence.save(update_fields=["ends_at"])
    return silence


@transaction.atomic
def contact_point_save(*, actor, data, contact_point_id=None):
    """Create or update a contact point of the actor's tenant (platform for staff)."""
    from alerts.models import ContactPoint
    from alerts.selectors import owned_queryset

    owner = _require_owner(actor)
    if contact_point_id is None:
        return ContactPoint.objects.create(owner_scope=owner, **data)
    cp = owned_queryset(ContactPoint, actor).select_for_update().filter(pk=contact_point_id)
    cp = cp.first()
    if cp is None:
        raise NotFound("Unknown contact point.", code="contact_point_not_found")
    for name, value in data.items():
        setattr(cp, name, value)
    cp.save(update_fields=list(data.keys()))
    return cp


@transaction.atomic
def contact_point_delete(*, actor, contact_point_id):
    from alerts.models import ContactPoint
    from alerts.selectors import owned_queryset

    _require_owner(actor)
    cp = owned_queryset(ContactPoint, actor).filter(pk=contact_point_id).first()
    if cp is None:
        raise NotFound("Unknown contact point.", code="contact_point_not_found")
    cp.delete()
