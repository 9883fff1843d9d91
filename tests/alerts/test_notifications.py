"""Notifications against a real local HTTP server: routing by tenant, grouping with
group wait / interval, HMAC-SHA256 signatures, retries with backoff, silences."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from alerts import services
from alerts.models import Alert, ContactPoint, NotificationDelivery, Silence
from alerts.notifications import deliveries_send, groups_flush

pytestmark = pytest.mark.django_db
SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A local webhook receiver: records each request; answers the queued statuses."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def payloads(self):
        return [json.loads(body) for _, body in self.requests]

    def verified(self):
        """Whether every request carries a valid signature of its timestamp and body."""
        for headers, body in self.requests:
            ts = headers["X-Molam-Timestamp"]
            mac = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256)
            if not hmac.compare_digest(headers["X-Molam-Signature"], "sha256=" + mac.hexdigest()):
                return False
        return True


@pytest.fixture
def receivers():
    made = {}
    yield lambda name: made.setdefault(name, Receiver())
    for r in made.values():
        r.server.shutdown()
        r.server.server_close()


def webhook(owner, url, **kw):
    return ContactPoint.objects.create(
        name=f"hook {owner}", owner_scope=owner, kind="webhook", url=url, secret=SECRET, **kw
    )


def raise_on(scope, key="k", **kw):
    return services.alert_raise(
        source="sira",
        category="fraud",
        severity="critical",
        scope=scope,
        title=f"fraud on {scope}",
        dedupe_key=f"{key}:{scope}",
        **kw,
    )


def test_each_tenant_gets_its_own_alerts_grouped_and_signed(
    receivers, django_capture_on_commit_callbacks
):
    ops, m1, m2 = receivers("ops"), receivers("m1"), receivers("m2")
    webhook("platform", ops.url)
    webhook("merchant:m_1", m1.url)
    webhook("merchant:m_2", m2.url)
    t = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("merchant:m_1", key="a")
        raise_on("merchant:m_1", key="b")  # same group (source, category, severity)
    assert groups_flush(now=t + timedelta(seconds=10)) == 0  # group_wait is 30 s
    assert groups_flush(now=t + timedelta(seconds=31)) == 2
    deliveries_send(now=t + timedelta(seconds=31))
    assert len(ops.requests) == len(m1.requests) == 1 and m2.requests == []
    payload = m1.payloads()[0]
    assert payload["status"] == "firing" and len(payload["alerts"]) == 2
    assert {a["scope"] for a in payload["alerts"]} == {"merchant:m_1"}
    assert ops.verified() and m1.verified()
    # Nothing changed: no notification until the repeat interval.
    assert groups_flush(now=t + timedelta(minutes=10)) == 0
    alert = Alert.objects.filter(dedupe_key="a:merchant:m_1").get()
    with django_capture_on_commit_callbacks(execute=True):
        services.alert_resolve(actor=None, alert_id=alert.pk, now=t + timedelta(minutes=10))
    assert groups_flush(now=t + timedelta(minutes=11)) == 2  # interval passed since the send
    deliveries_send(now=t + timedelta(minutes=11))
    statuses = {a["status"] for a in m1.payloads()[1]["alerts"]}
    assert statuses == {"open", "resolved"} and m1.verified()
    assert groups_flush(now=t + timedelta(hours=4, minutes=12)) == 2  # repeat interval
    assert m2.requests == []


def test_failed_webhook_is_retried_with_backoff_and_logged(
    receivers, django_capture_on_commit_callbacks
):
    hook = receivers("flaky")
    hook.statuses = [500, 503]
    webhook("platform", hook.url, group_wait=timedelta(0))
    t = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("bank:b_1")
    groups_flush(now=t + timedelta(seconds=1))
    deliveries_send(now=t + timedelta(seconds=1))
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("retrying", 1, 500)
    assert deliveries_send(now=t + timedelta(seconds=20)) == 0  # backoff 30 s
    deliveries_send(now=t + timedelta(seconds=32))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)
    assert deliveries_send(now=t + timedelta(seconds=80)) == 0  # then 60 s
    deliveries_send(now=t + timedelta(seconds=93))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 3, 200)
    assert len(hook.requests) == 3 and hook.verified()


def test_silenced_alert_is_not_sent_and_tenant_cannot_silence_another(
    receivers, django_capture_on_commit_callbacks, merchant_admin_m2
):
    hook = receivers("ops")
    webhook("platform", hook.url, group_wait=timedelta(0))
    t = timezone.now()
    Silence.objects.create(
        owner_scope="merchant:m_2",
        scope="",
        starts_at=t - timedelta(minutes=1),
        ends_at=t + timedelta(hours=1),
        comment="not theirs",
        created_by=merchant_admin_m2,
    )
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("merchant:m_1", key="x")  # m_2's silence does not cover m_1
    Silence.objects.create(
        owner_scope="platform",
        scope="merchant:m_3",
        starts_at=t - timedelta(minutes=1),
        ends_at=t + timedelta(hours=1),
        comment="maintenance",
        created_by=merchant_admin_m2,
    )
    with django_capture_on_commit_callbacks(execute=True):
        silenced = raise_on("merchant:m_3", key="y")
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("merchant:m_4", key="z")  # silenced after it opened, before it is sent
    Silence.objects.create(
        owner_scope="platform",
        matchers={"scope": "merchant:m_4"},
        starts_at=t,
        ends_at=t + timedelta(hours=1),
        comment="late",
        created_by=merchant_admin_m2,
    )
    groups_flush(now=t + timedelta(seconds=1))
    deliveries_send(now=t + timedelta(seconds=1))
    assert [a["scope"] for p in hook.payloads() for a in p["alerts"]] == ["merchant:m_1"]
    silenced.refresh_from_db()
    assert silenced.silenced


def test_email_contact_point_uses_the_email_backend(django_capture_on_commit_callbacks):
    ContactPoint.objects.create(
        name="mail",
        owner_scope="merchant:m_1",
        kind="email",
        emails=["ops@m1.example"],
        group_wait=timedelta(0),
    )
    t = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("merchant:m_1")
        raise_on("merchant:m_2")
    groups_flush(now=t + timedelta(seconds=1))
    deliveries_send(now=t + timedelta(seconds=1))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@m1.example"]
    assert "merchant:m_1" in mail.outbox[0].body and "m_2" not in mail.outbox[0].body


def test_a_claimed_delivery_is_not_sent_by_an_overlapping_run(django_capture_on_commit_callbacks):
    from alerts.notifications import delivery_claim

    webhook("platform", "http://127.0.0.1:9/unused", group_wait=timedelta(0))
    t = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        raise_on("bank:b_1")
    groups_flush(now=t + timedelta(seconds=1))
    assert groups_flush(now=t + timedelta(seconds=2)) == 0  # sent once, nothing changed
    first = delivery_claim(t + timedelta(seconds=1))
    assert first is not None
    assert delivery_claim(t + timedelta(seconds=2)) is None  # leased to the first run
    assert NotificationDelivery.objects.count() == 1
