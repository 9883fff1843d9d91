"""The live transactions feed (dashboard/stream.py) and its server-sent-events endpoint.

Events go through the real ingestion path (the service, and once the Kafka
consumer with its worker processes) into the real Redis; the feed is read back
from Redis and through `/stream/events`.
"""

import json
import socket
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest
from django.db import connection, transaction
from prometheus_client import REGISTRY

from dashboard import stream
from dashboard.ingest.services import ingest as ingest_payloads
from dashboard.models import HourlyAggregate


@pytest.fixture(autouse=True)
def _feeds(feed_clean):
    """Every test here starts with empty feeds (tests/dashboard/conftest.py)."""


def feed(scope):
    """The scope's feed as decoded entries, oldest first."""
    return [json.loads(data) for _, data in stream.feed_latest(scope, count=500)]


def feed_ids(scope):
    return [entry["id"] for entry in feed(scope)]


def metric(name):
    return REGISTRY.get_sample_value(name) or 0


@pytest.fixture
def ingest(ingest_clean):
    """ingest(events) -> IngestResult through the service, in real transactions (the feed
    is queued on commit), once the feed's sender thread has written it."""

    def run(events):
        result = ingest_payloads(events)
        assert stream.feed_flush()
        return result

    return run


# ---------------------------------------------------------------- writer
def test_counted_events_reach_the_feed_of_every_scope_they_count_in_and_no_other(
    ingest, ingest_event
):
    a = ingest_event("payment.succeeded", merchant_id="m_1", agent_id="a_1", bank_id="b_1",
                     fee="225", cost="60")  # fmt: skip
    b = ingest_event("payment.failed", merchant_id="m_2", country="CI", city="Abidjan")
    assert ingest([a, b]).counted == 2
    assert feed_ids("platform") == [a["event_id"], b["event_id"]]
    for scope in ("merchant:m_1", "agent:a_1", "bank:b_1", "region:SN"):
        assert feed_ids(scope) == [a["event_id"]], scope
    for scope in ("merchant:m_2", "region:CI"):
        assert feed_ids(scope) == [b["event_id"]], scope
    assert feed_ids("merchant:m_3") == [] and feed_ids("bank:b_2") == []
    entry = feed("merchant:m_1")[0]
    assert entry == {
        "id": a["event_id"],
        "type": "payment.succeeded",
        "source": "connect",
        "occurred_at": a["occurred_at"].replace("+00:00", "Z"),
        "amount": "15000",
        "currency": "XOF",
        "fee": "225",
        "balance": None,
        "merchant": "m_1",
        "agent": "a_1",
        "bank": "b_1",
        "country": "SN",
        "city": "Dakar",
        "status": "succeeded",
    }  # no `cost`: what Molam pays its partners is not the tenant's to see
    assert feed("merchant:m_2")[0]["status"] == "failed"


def test_a_float_update_feeds_platform_its_agent_and_region_as_ingestion_counts_it(
    ingest, ingest_event
):
    event = ingest_event("agent.float_updated", agent_id="a_7", bank_id="b_1", merchant_id="m_1")
    ingest([event])
    for scope in ("platform", "agent:a_7", "region:SN"):
        assert feed_ids(scope) == [event["event_id"]], scope
    assert feed_ids("bank:b_1") == [] and feed_ids("merchant:m_1") == []
    assert feed("agent:a_7")[0]["balance"] == "250000"


def test_the_feed_scopes_are_the_scopes_the_batch_marked_dirty(ingest, ingest_event):
    """The feed's fan-out and ingestion's are the same: every scope a batch touched
    (its dirty marks) has the batch in its feed, and no other scope has a feed."""
    from dashboard.models import DirtyScope

    events = [
        ingest_event("payment.succeeded", merchant_id="m_1", bank_id="b_1"),
        ingest_event("cash_in.completed", agent_id="a_1", country="ML", city="Bamako"),
        ingest_event("agent.float_updated", agent_id="a_2", country="CI"),
        ingest_event("transfer.completed", merchant_id="m_2", agent_id="a_1", country="NE"),
    ]
    ingest(events)
    dirty = {
        kind if kind == "platform" else f"{kind}:{ident}"
        for kind, ident in DirtyScope.objects.values_list("scope_kind", "scope_id")
    }
    client = stream._writer_client()
    prefix = stream.feed_key("")
    fed = {key.decode()[len(prefix) :] for key in client.scan_iter(stream.feed_key("*"))}
    assert fed == dirty


def test_duplicates_and_dead_letters_never_reach_the_feed(ingest, ingest_event):
    first = ingest_event("payment.succeeded", merchant_id="m_1")
    ingest([first])
    again = dict(first, amount="99")  # a redelivery, already counted
    new = ingest_event("refund.succeeded", merchant_id="m_1")
    bad = ingest_event("payment.succeeded", merchant_id="m_1", currency="EURO")
    result = ingest([again, bad, new, new, json.dumps(new).encode()])
    assert (result.counted, result.duplicates, len(result.dead_letters)) == (1, 3, 1)
    assert feed_ids("merchant:m_1") == [first["event_id"], new["event_id"]]
    assert feed_ids("platform") == [first["event_id"], new["event_id"]]
    assert feed("platform")[0]["amount"] == "15000"  # the counted delivery, not the redelivery


def test_the_feed_is_written_after_the_commit_and_never_for_a_rollback(ingest, ingest_event):
    event = ingest_event("payment.succeeded", merchant_id="m_1")
    with transaction.atomic():
        ingest_payloads([event])
        stream.feed_flush()
        assert feed_ids("platform") == []  # counted, not yet committed: not in the feed
    stream.feed_flush()
    assert feed_ids("platform") == [event["event_id"]]
    lost = ingest_event("payment.succeeded", merchant_id="m_9")
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest_payloads([lost])
        raise RuntimeError("the surrounding transaction fails")
    stream.feed_flush()
    assert not HourlyAggregate.objects.filter(scope_kind="merchant", scope_id="m_9").exists()
    assert feed_ids("merchant:m_9") == []


def test_a_scope_keeps_the_newest_fifty_events_of_a_batch_in_time_order(
    ingest, ingest_event, ingest_hour
):
    order = list(range(60))
    order = order[1::2] + order[::2]  # arrival order is not time order
    events = {
        i: ingest_event(
            "payment.initiated",
            merchant_id="m_1",
            occurred_at=(ingest_hour + timedelta(seconds=i)).isoformat(),
        )
        for i in order
    }
    ingest([events[i] for i in order])
    assert feed_ids("merchant:m_1") == [events[i]["event_id"] for i in range(10, 60)]
    assert len(feed_ids("platform")) == stream.FEED_PER_BATCH


def test_a_backlog_batch_feeds_only_its_last_events_and_counts_the_rest(
    ingest, ingest_event, monkeypatch
):
    monkeypatch.setattr(stream, "FEED_BATCH_WINDOW", 4)
    left_out = metric("dashboard_stream_feed_left_out_total")
    events = [ingest_event("payment.initiated", merchant_id=f"m_{i}") for i in range(10)]
    assert ingest(events).counted == 10  # every event is counted all the same
    assert feed_ids("platform") == [e["event_id"] for e in events[-4:]]
    assert feed_ids("merchant:m_5") == [] and feed_ids("merchant:m_6") != []
    assert metric("dashboard_stream_feed_left_out_total") == left_out + 6


def test_a_redis_failure_is_counted_and_never_fails_the_batch(
    ingest, ingest_event, monkeypatch, caplog, settings
):
    stream_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(stream, "_writer", None)
    errors, skipped = (
        metric("dashboard_stream_feed_errors_total"),
        metric("dashboard_stream_feed_skipped_total"),
    )
    event = ingest_event("payment.succeeded", merchant_id="m_1")
    started = time.monotonic()
    assert ingest([event]).counted == 1
    assert time.monotonic() - started < 2
    assert HourlyAggregate.objects.filter(scope_kind="merchant", scope_id="m_1").exists()
    assert metric("dashboard_stream_feed_errors_total") == errors + 1
    assert "live feed not written" in caplog.text
    # The next batches skip the feed for a while instead of each waiting on Redis.
    assert ingest([ingest_event("payment.failed", merchant_id="m_1")]).counted == 1
    assert metric("dashboard_stream_feed_skipped_total") == skipped + 1
    assert metric("dashboard_stream_feed_errors_total") == errors + 1
    monkeypatch.undo()
    settings.REDIS_URL = stream_url
    stream._paused_until = 0.0
    later = ingest_event("payment.failed", merchant_id="m_1")
    ingest([later])
    assert feed_ids("merchant:m_1") == [later["event_id"]]  # back once Redis is


@pytest.mark.timeout(120)
def test_the_kafka_consumer_and_its_worker_processes_feed_the_scopes(
    ingest_clean, ingest_event, make_topic
):
    from tests.dashboard.kafka_reads import event_consumer, produce

    topic, dlq = make_topic("ev"), make_topic("dlq")
    good = [ingest_event("payment.succeeded", merchant_id="m_k1") for _ in range(12)]
    other = ingest_event("payment.succeeded", merchant_id="m_k2")
    produce(topic, good[:6] + [b"not json", other] + good[6:] + good[:3])
    stats = event_consumer(
        [topic], f"g-{uuid.uuid4().hex[:8]}", dlq, processes=2, batch_size=5
    ).run()
    assert stats["counted"] == 13
    assert sorted(feed_ids("merchant:m_k1")) == sorted(e["event_id"] for e in good)
    assert feed_ids("merchant:m_k2") == [other["event_id"]]
    assert len(feed_ids("platform")) == 13


# ---------------------------------------------------------------- server-sent events
def _chunks(response):
    it = iter(response.streaming_content)
    return it


def _frames(chunk):
    """An SSE chunk -> [(id, entry dict)] of its events."""
    out = []
    for block in chunk.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            out.append((lines.get("id"), json.loads(lines["data"])))
    return out


@pytest.fixture
def two_merchants(ingest, ingest_event):
    m1 = [ingest_event("payment.succeeded", merchant_id="m_1") for _ in range(3)]
    m2 = [ingest_event("payment.succeeded", merchant_id="m_2") for _ in range(2)]
    ingest(m1 + m2)
    return m1, m2


def test_the_stream_starts_with_the_latest_entries_of_the_tenants_own_scope(
    client, merchant_admin_m1, two_merchants, settings
):
    settings.STREAM_HEARTBEAT_S = 1
    m1, _ = two_merchants
    client.force_login(merchant_admin_m1)
    response = client.get("/stream/events")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"].startswith("no-cache")
    first = next(_chunks(response))
    assert first.startswith(b"retry: ")
    frames = _frames(first)
    assert [entry["id"] for _, entry in frames] == [e["event_id"] for e in m1]
    assert all(entry["merchant"] == "m_1" for _, entry in frames)
    assert [i for i, _ in frames] == [i for i, _ in stream.feed_latest("merchant:m_1")]
    response.close()


def test_the_stream_resumes_after_last_event_id_without_loss_or_repeat(
    client, merchant_admin_m1, two_merchants, ingest, ingest_event, settings
):
    settings.STREAM_HEARTBEAT_S = 1
    m1, _ = two_merchants
    ids = [i for i, _ in stream.feed_latest("merchant:m_1")]
    client.force_login(merchant_admin_m1)
    response = client.get("/stream/events", HTTP_LAST_EVENT_ID=ids[0])
    chunks = _chunks(response)
    assert [e["id"] for _, e in _frames(next(chunks))] == [e["event_id"] for e in m1[1:]]
    # Then what is written while it is open, once, with its id.
    later = ingest_event("payment.failed", merchant_id="m_1")
    ingest([later, ingest_event("payment.failed", merchant_id="m_2")])
    frames = _frames(next(chunks))
    assert [e["id"] for _, e in frames] == [later["event_id"]]
    assert frames[0][0] == stream.feed_latest("merchant:m_1", 1)[0][0]
    assert next(chunks) == b": keep-alive\n\n"  # nothing new for a heartbeat
    response.close()
    # A reconnect from that id gets nothing it already had.
    again = client.get("/stream/events", {"last_id": frames[0][0]})
    assert _frames(next(_chunks(again))) == []
    again.close()


def test_a_garbled_last_event_id_starts_from_the_latest_entries(
    client, merchant_admin_m1, two_merchants, settings
):
    settings.STREAM_HEARTBEAT_S = 1
    client.force_login(merchant_admin_m1)
    response = client.get("/stream/events", HTTP_LAST_EVENT_ID="0-0) OR 1")
    assert len(_frames(next(_chunks(response)))) == 3
    response.close()


def test_a_connection_ends_after_stream_connection_s(
    client, merchant_admin_m1, two_merchants, settings
):
    settings.STREAM_CONNECTION_S = 1
    settings.STREAM_HEARTBEAT_S = 1
    client.force_login(merchant_admin_m1)
    started = time.monotonic()
    chunks = list(client.get("/stream/events").streaming_content)
    assert time.monotonic() - started < 3
    assert len(_frames(chunks[0])) == 3


def test_staff_follow_any_scope_and_a_tenant_gets_403_for_another(
    client, ops_admin, merchant_admin_m1, two_merchants, settings
):
    settings.STREAM_HEARTBEAT_S = 1
    _, m2 = two_merchants
    client.force_login(ops_admin)
    response = client.get("/stream/events", {"scope": "merchant:m_2"})
    assert [e["id"] for _, e in _frames(next(_chunks(response)))] == [e["event_id"] for e in m2]
    response.close()
    client.force_login(merchant_admin_m1)
    refused = client.get("/stream/events", {"scope": "merchant:m_2"})
    assert refused.status_code == 403
    assert b"m_2" in refused.content and b"15000" not in refused.content
    assert client.get("/stream/events", {"scope": "platform"}).status_code == 403
    assert client.get("/stream", {"scope": "merchant:m_2"}).status_code == 403
    assert client.get("/stream/events", {"scope": "shop:1"}).status_code == 400


@pytest.mark.django_db
def test_the_stream_says_when_the_feed_is_unreadable_and_ends(
    client, merchant_admin_m1, monkeypatch, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(stream, "_reader", None)
    client.force_login(merchant_admin_m1)
    response = client.get("/stream/events")
    assert response.status_code == 200  # (a refusal would make EventSource give up for good)
    assert list(response.streaming_content) == [b"retry: 6000\nevent: unavailable\ndata: \n\n"]


@pytest.mark.django_db
def test_the_stream_needs_a_session(client, outsider):
    assert client.get("/stream/events").status_code == 401  # not a redirect EventSource follows
    assert client.get("/stream")["Location"].startswith("/login")
    client.force_login(outsider)
    assert client.get("/stream/events").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_client_that_goes_away_frees_its_thread(live_server, client, merchant_admin_m1, settings):
    settings.STREAM_HEARTBEAT_S = 1
    settings.STREAM_CONNECTION_S = 60
    client.force_login(merchant_admin_m1)
    cookie = client.cookies["sessionid"].value
    host, port = live_server.url.removeprefix("http://").split(":")

    def db_sessions():
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cur.fetchone()[0]

    sessions_before = db_sessions()
    open_before = stream.STREAMS_OPEN._value.get()
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        b"GET /stream/events HTTP/1.1\r\nHost: %s\r\nCookie: sessionid=%s\r\n"
        b"Accept: text/event-stream\r\n\r\n" % (host.encode(), cookie.encode())
    )
    head = sock.recv(4096)
    assert b" 200 " in head.split(b"\r\n")[0]
    deadline = time.monotonic() + 5
    while stream.STREAMS_OPEN._value.get() <= open_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.STREAMS_OPEN._value.get() == open_before + 1
    # The open stream holds no database connection (the sign-in check's is given back).
    deadline = time.monotonic() + 3
    while db_sessions() > sessions_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db_sessions() == sessions_before
    sock.close()
    # The next keep-alive writes to a closed socket: the stream ends well before its 60 s.
    deadline = time.monotonic() + 8
    while stream.STREAMS_OPEN._value.get() > open_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stream.STREAMS_OPEN._value.get() == open_before


# ---------------------------------------------------------------- page
@pytest.mark.django_db
def test_the_page_follows_the_users_scope_and_is_in_the_menu(client, merchant_admin_m1, ops_admin):
    client.force_login(merchant_admin_m1)
    page = client.get("/stream")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-url="/stream/events?scope=merchant%3Am_1"' in html
    assert 'href="/stream"' in html and "Transactions" in html
    assert 'id="scope-input"' not in html  # tenants have no scope picker
    client.force_login(ops_admin)
    staff = client.get("/stream", {"scope": "region:SN"}).content.decode()
    assert 'id="scope-input"' in staff
    assert 'data-url="/stream/events?scope=region%3ASN"' in staff


def test_entry_money_is_exact_decimal_text():
    """Amounts are never binary floats on their way to the feed."""
    from dashboard.ingest.validation import parse

    raw = orjson.dumps(
        {"event_id": "x1", "type": "payment.succeeded", "source": "connect",
         "occurred_at": "2026-01-02T03:04:05+00:00", "currency": "NGN",
         "amount": "1234567890123.0001", "fee": "0.1"}
    )  # fmt: skip
    event = parse(raw)
    entry = json.loads(stream._entries([event])[id(event)])
    assert (entry["amount"], entry["fee"]) == ("1234567890123.0001", "0.1")
    assert Decimal(entry["amount"]) == event.amount
