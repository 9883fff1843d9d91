"""Routing, grouping and delivery of alert notifications (Alertmanager's model, per tenant).

An alert that opens or resolves joins one aggregation group per contact point that
routes it (severity, category, and scope: a tenant's contact point only ever gets
that tenant's alerts). `groups_flush` (beat) sends a group `group_wait` after it
formed, again at most every `group_interval` when its alerts changed, and every
`repeat_interval` while any still fires. `deliveries_send` (beat) posts each
notification: webhooks signed with HMAC-SHA256, retried with exponential backoff,
every attempt written to the delivery log.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.choices import LIVE_STATUSES, AlertStatus, ContactKind, DeliveryStatus
from alerts.models import Alert, ContactPoint, NotificationDelivery, NotificationGroup, Silence
from alerts.prom import NOTIFICATION_FAILURES, NOTIFICATIONS_SENT

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Molam-Signature"
TIMESTAMP_HEADER = "X-Molam-Timestamp"


def sign(secret, timestamp, body):
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"): what receivers verify."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def owner_covers(owner_scope, alert):
    """Whether something owned by `owner_scope` (a contact point, a silence) may concern
    `alert`: the platform's covers every alert, a tenant's only that tenant's."""
    if owner_scope == "platform":
        return True
    kind, _, ident = owner_scope.partition(":")
    if kind == "region":
        return alert.country == ident
    key = {"merchant": "merchant_id", "agent": "agent_id", "bank": "bank_id"}.get(kind)
    return key is not None and getattr(alert, key) == ident


def routes(contact_point, alert):
    """Whether `contact_point` receives `alert`: its tenant's alerts only, then its filters."""
    if not owner_covers(contact_point.owner_scope, alert):
        return False
    if contact_point.severities and alert.severity not in contact_point.severities:
        return False
    return not (contact_point.categories and alert.category not in contact_point.categories)


def silence_matches(silence, alert):
    """Whether `silence` (scope, category and label matchers) covers `alert`."""
    if silence.scope and silence.scope != alert.scope:
        return False
    if silence.category and silence.category != alert.category:
        return False
    labels = {**alert.labels, "scope": alert.scope, "severity": alert.severity}
    if alert.rule_id:
        labels.setdefault("rule", alert.rule.key)
    return all(str(labels.get(k)) == str(v) for k, v in (silence.matchers or {}).items())


def active_silences(now):
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))


def is_silenced(alert, now, silences=None):
    """Whether a silence active at `now`, owned by the platform or by the alert's tenant,
    covers `alert` (a tenant cannot silence another tenant's alerts)."""
    silences = active_silences(now) if silences is None else silences
    return any(owner_covers(s.owner_scope, alert) and silence_matches(s, alert) for s in silences)


def group_key_for(alert):
    """Alerts of one rule (or one source and category) and severity are sent together."""
    name = alert.rule.key if alert.rule_id else f"{alert.source}.{alert.category}"
    return f"{name}|{alert.severity}"


def alert_changed(alert_id, change, *, now=None):
    """After the commit of an alert's opening or resolution: put it in its groups."""
    if change not in ("opened", "resolved"):
        return
    alert = Alert.objects.select_related("rule").filter(pk=alert_id).first()
    if alert is None:
        return
    # The change's own time (an evaluation or a test may run at a given `now`).
    now = now or (alert.resolved_at if change == "resolved" else alert.first_seen)
    if change == "opened" and is_silenced(alert, now):
        Alert.objects.filter(pk=alert.pk).update(silenced=True)
        return
    if change == "resolved" and alert.silenced:
        return  # its opening was never sent: neither is its end
    key = group_key_for(alert)
    for cp in ContactPoint.objects.filter(enabled=True):
        if not routes(cp, alert):
            continue
        with transaction.atomic():
            group, created = NotificationGroup.objects.get_or_create(
                contact_point=cp, group_key=key, defaults={"created_at": now, "changed_at": now}
            )
            if not created:
                NotificationGroup.objects.filter(pk=group.pk).update(changed_at=now)
            group.alerts.add(alert)


def alert_item(alert):
    """An alert as the alert list API renders it (one shape everywhere)."""
    from alerts.api.serializers import AlertSerializer

    return AlertSerializer(alert).data


def _due(group, now):
    cp = group.contact_point
    if group.last_sent_at is None:
        return now >= group.created_at + cp.group_wait
    if group.changed_at > group.last_sent_at:
        return now >= group.last_sent_at + cp.group_interval
    return now >= group.last_sent_at + cp.repeat_interval


def groups_flush(*, now=None):
    """Turn every due group into one notification; returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    silences = active_silences(now)
    groups = NotificationGroup.objects.select_related("contact_point").order_by("id")
    for group in groups:
        if not group.contact_point.enabled or not _due(group, now):
            continue
        with transaction.atomic():
            group = (
                NotificationGroup.objects.select_for_update()
                .select_related("contact_point")
                .filter(pk=group.pk)
                .first()
            )
            if group is None or not _due(group, now):
                continue  # another flush (an overlapping beat run) sent or removed it
            members = list(group.alerts.select_related("rule", "acknowledged_by", "resolved_by"))
            # A silence that began after an alert joined holds it back from now on.
            held = [a for a in members if is_silenced(a, now, silences)]
            if held:
                group.alerts.remove(*held)
                members = [a for a in members if a not in held]
            firing = [a for a in members if a.status in LIVE_STATUSES]
            resolved = [a for a in members if a.status == AlertStatus.RESOLVED]
            if not members:
                group.delete()
                continue
            if not firing and group.last_sent_at is None:
                group.delete()  # opened and resolved within group_wait: nothing to say
                continue
            payload = {
                "version": "1",
                "group_key": group.group_key,
                "status": "firing" if firing else "resolved",
                "contact_point": group.contact_point.name,
                "alerts": [alert_item(a) for a in firing + resolved],
            }
            NotificationDelivery.objects.create(
                contact_point=group.contact_point,
                group_key=group.group_key,
                payload=json.loads(json.dumps(payload, default=str)),
                created_at=now,
                next_attempt_at=now,
            )
            queued += 1
            group.last_sent_at = now
            group.changed_at = min(group.changed_at, now)
            group.save(update_fields=["last_sent_at", "changed_at"])
            if resolved:
                group.alerts.remove(*resolved)
            if not firing:
                group.delete()
    return queued


def _post(cp, payload):
    if not cp.url.lower().startswith(("http://", "https://")):
        raise ValueError("webhook URL must be http(s)")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        cp.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(cp.secret, timestamp, body),
            "User-Agent": "molam-alerts/1",
        },
    )
    timeout = settings.ALERTS_WEBHOOK_TIMEOUT_S
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return answer.status


def _email(cp, payload):
    status = payload["status"]
    lines = [
        f"[{a['severity']}] {a['title']} ({a['scope']}) {a['status']}" for a in payload["alerts"]
    ]
    send_mail(
        subject=f"[Molam alerts] {status}: {payload['group_key']}",
        message="\n".join(lines),
        from_email=settings.ALERTS_FROM_EMAIL,
        recipient_list=list(cp.emails),
    )
    return None


def delivery_attempt(delivery, *, now=None):
    """One attempt at one notification; on failure the next is scheduled with backoff."""
    now = now or timezone.now()
    cp = delivery.contact_point
    delivery.attempts += 1
    try:
        if cp.kind == ContactKind.WEBHOOK:
            delivery.response_status = _post(cp, delivery.payload)
        else:
            _email(cp, delivery.payload)
    except urllib.error.HTTPError as exc:
        delivery.response_status = exc.code
        delivery.last_error = f"HTTP {exc.code}"
    except Exception as exc:  # network, DNS, SMTP: all retried the same way
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    else:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
        NOTIFICATIONS_SENT.labels(kind=cp.kind).inc()
    if delivery.status != DeliveryStatus.SENT:
        NOTIFICATION_FAILURES.labels(kind=cp.kind).inc()
        if delivery.attempts >= settings.ALERTS_DELIVERY_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.status = DeliveryStatus.RETRYING
            backoff = settings.ALERTS_DELIVERY_BACKOFF_S * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=backoff)
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "response_status",
            "last_error",
            "sent_at",
            "next_attempt_at",
        ]
    )
    return delivery


def delivery_claim(now):
    """The next due delivery, leased to this run (its next attempt moved past the
    webhook timeout) so an overlapping run never sends it twice; None when none is due."""
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(skip_locked=True)
            .select_related("contact_point")
            .filter(
                Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.RETRYING),
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")
            .first()
        )
        if delivery is not None:
            lease = timedelta(seconds=2 * settings.ALERTS_WEBHOOK_TIMEOUT_S + 30)
            delivery.next_attempt_at = now + lease
            delivery.save(update_fields=["next_attempt_at"])
        return delivery


def deliveries_send(*, now=None, limit=200):
    """Attempt every notification that is due (at most `limit`); returns how many."""
    now = now or timezone.now()
    n = 0
    while n < limit and (delivery := delivery_claim(now)) is not None:
        delivery_attempt(delivery, now=now)
        n += 1
    return n


def contact_point_test(contact_point, *, now=None):
    """Send a test notification at once (the API's test send); returns the delivery."""
    now = now or timezone.now()
    delivery = NotificationDelivery.objects.create(
        contact_point=contact_point,
        group_key="test",
        payload={
            "version": "1",
            "group_key": "test",
            "status": "test",
            "contact_point": contact_point.name,
            "alerts": [],
        },
        created_at=now,
        next_attempt_at=now,
    )
    return delivery_attempt(delivery, now=now)


def email_users(*, emails, subject, body):
    """E-mail people directly (e.g. eligible approvers of an ops action), after commit."""
    emails = sorted({e for e in emails if e})
    if not emails:
        return

    def _send():
        try:
            send_mail(subject, body, settings.ALERTS_FROM_EMAIL, emails)
        except Exception:
            NOTIFICATION_FAILURES.labels(kind="email").inc()
            logger.exception("alerts: e-mail to %s failed", emails)

    transaction.on_commit(_send)
