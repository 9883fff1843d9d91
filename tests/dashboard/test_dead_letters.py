"""Dead letters: identity in the table, and the DLQ topic copy that never stops ingestion.

Against the real broker and database: a ~1.5 MB invalid message, a DLQ topic the
broker refuses, a broker out of reach.
"""

import time
import uuid

import orjson
import pytest
from confluent_kafka import KafkaError, Producer
from django.conf import settings

from dashboard.ingest import dead_letters
from dashboard.ingest.choices import DeadLetterPublication
from dashboard.ingest.dead_letters import (
    FATAL,
    FRAMING_BYTES,
    PERMANENT,
    TRANSIENT,
    DeadLetterPublisher,
    build_copy,
    classify,
    payload_sha256,
)
from dashboard.ingest.services import DeadLetterInfo, Origin, ingest
from dashboard.models import DeadLetter
from tests.dashboard.kafka_reads import committed_total, read_messages

pytestmark = [pytest.mark.timeout(180)]

BIG = 1_500_000


def _metric(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0


def _big_invalid():
    """~1.5 MB that is not a JSON object (invalid_json), distinct bytes throughout."""
    body = b"".join(b"%07d," % n for n in range(BIG // 8 + 1))
    return (b"[" + body)[:BIG]


def _produce(topic, payloads, *, max_bytes=4_000_000):
    """Produce in order to partition 0 with a producer allowed large messages."""
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "message.max.bytes": max_bytes}
    )
    for payload in payloads:
        producer.produce(topic, value=payload, key=b"k", partition=0)
    assert producer.flush(30) == 0


def _read(topic, expected, timeout=30):
    return read_messages(topic, expected, timeout)


def _committed(topic, group, partitions=1):
    return committed_total(topic, group, partitions)


def _consumer(topic, dlq, group, **kw):
    from dashboard.ingest.consumer import EventConsumer

    kw.setdefault("until_idle", 2)
    return EventConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=[topic],
        group_id=group,
        dlq_topic=dlq,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
        heartbeat=False,
        **kw,
    )


# ------------------------------------------------------------ identity in the table
def test_a_different_message_at_a_reused_position_is_a_letter_of_its_own(db):
    """Broker restarted empty / topic re-created: offset 5 of partition 0 holds another
    message; a true redelivery of the same one is still recorded once."""
    here = Origin("wallet.events", 0, 5, b"k")
    ingest([b"first bad message"], origins=[here])
    ingest([b"first bad message"], origins=[here])  # redelivered (crash before commit)
    assert DeadLetter.objects.count() == 1
    ingest([b"{not json either"], origins=[here])  # same position, another message
    letters = DeadLetter.objects.order_by("id")
    assert [bytes(d.payload) for d in letters] == [b"first bad message", b"{not json either"]
    assert [d.payload_sha256 for d in letters] == [
        payload_sha256(b"first bad message"),
        payload_sha256(b"{not json either"),
    ]
    assert {d.publication for d in letters} == {DeadLetterPublication.PENDING}
    ingest([b"{not json either"], origins=[here])
    assert DeadLetter.objects.count() == 2


def test_letters_given_to_the_service_api_are_table_only(db):
    ingest([b"nope"])
    ingest([b"nope"])  # no Kafka position: no identity to dedupe on
    assert [d.publication for d in DeadLetter.objects.all()] == [DeadLetterPublication.LOCAL] * 2


# ------------------------------------------------------------ sizing and classification
def _letter(payload, key=b"k"):
    return DeadLetterInfo(
        payload=payload,
        reason="invalid_json",
        detail="x" * 900,
        event_id="e" * 200,
        origin=Origin("wallet.events", 2, 77, key),
    )


def _size(copy):
    return len(copy.value) + len(copy.key or b"") + sum(len(k) + len(v) for k, v in copy.headers)


def test_a_copy_fits_the_limit_with_key_and_headers_or_is_cut_with_its_size_in_a_header():
    small = build_copy(_letter(b"x" * 1000), max_bytes=1_000_000)
    assert small.value == b"x" * 1000 and small.truncated_to is None
    assert "truncated" not in dict(small.headers)

    payload = _big_invalid()
    cut = build_copy(_letter(payload, key=b"K" * 5000), max_bytes=1_000_000)
    headers = dict(cut.headers)
    assert headers["truncated"] == str(BIG).encode()
    assert headers["payload_sha256"] == payload_sha256(payload).encode()
    assert cut.value == payload[: len(cut.value)] and cut.truncated_to == len(cut.value)
    assert 1_000_000 - FRAMING_BYTES - 200 < _size(cut) <= 1_000_000 - FRAMING_BYTES
    assert len(headers["detail"]) == 500 and len(headers["event_id"]) == 64

    huge_key = build_copy(_letter(b"x", key=b"K" * 600_000), max_bytes=1_000_000)
    assert len(huge_key.key) == 1024 and dict(huge_key.headers)["key_truncated"] == b"600000"


def test_only_transient_errors_are_retried():
    assert classify(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)) == PERMANENT
    assert classify(KafkaError(KafkaError.INVALID_MSG)) == PERMANENT
    assert classify(KafkaError(KafkaError._UNKNOWN_TOPIC)) == PERMANENT
    assert classify(KafkaError(KafkaError.TOPIC_EXCEPTION)) == PERMANENT
    assert classify(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)) == PERMANENT
    assert classify(KafkaError(KafkaError._MSG_TIMED_OUT)) == TRANSIENT
    assert classify(KafkaError(KafkaError._TRANSPORT)) == TRANSIENT
    assert classify(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, retriable=True)) == TRANSIENT
    assert classify(KafkaError(KafkaError._FATAL, fatal=True)) == FATAL


# ------------------------------------------------------------ against the real broker
def test_a_1_5_mb_invalid_message_is_kept_whole_published_truncated_and_ingestion_goes_on(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    topic, dlq = make_topic("ev", partitions=1), make_topic("dlq", partitions=1)
    big = _big_invalid()
    good = [ingest_event("payment.succeeded", merchant_id="m_big", amount="10") for _ in range(40)]
    _produce(topic, [orjson.dumps(e) for e in good[:20]] + [big, b"small bad"]
             + [orjson.dumps(e) for e in good[20:]])  # fmt: skip
    before = _metric("dashboard_ingest_dead_letters_truncated_total")
    group = f"g-{uuid.uuid4().hex[:8]}"
    stats = _consumer(topic, dlq, group, batch_size=7, processes=2).run()

    assert (stats["messages"], stats["counted"], stats["dead_letters"]) == (42, 40, 2)
    assert (stats["dead_letters_truncated"], stats["dead_letters_unpublished"]) == (1, 0)
    assert _committed(topic, group) == 42  # the offsets moved past it
    assert ingest_rows("merchant", "m_big")["success_count"] == 40
    row = DeadLetter.objects.get(offset=20)
    assert bytes(row.payload) == big  # whole in the table
    assert (row.publication, row.publish_error) == (DeadLetterPublication.TRUNCATED, "")
    assert DeadLetter.objects.get(offset=21).publication == DeadLetterPublication.PUBLISHED
    copies = {dict(m.headers())["source_offset"]: m for m in _read(dlq, 2)}
    assert set(copies) == {b"20", b"21"}
    headers = dict(copies[b"20"].headers())
    assert headers["truncated"] == str(BIG).encode()
    assert headers["payload_sha256"] == payload_sha256(big).encode()
    value = copies[b"20"].value()
    assert 900_000 < len(value) < 1_000_000 and big.startswith(value)
    assert "truncated" not in dict(copies[b"21"].headers())
    assert copies[b"21"].value() == b"small bad"
    assert _metric("dashboard_ingest_dead_letters_truncated_total") == before + 1


def test_a_dlq_topic_the_broker_refuses_leaves_letters_failed_in_the_table_not_a_stuck_batch(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    topic = make_topic("ev", partitions=1)
    good = [ingest_event("payment.failed", merchant_id="m_refused") for _ in range(10)]
    _produce(topic, [orjson.dumps(e) for e in good[:5]] + [b"bad one", b"bad two"]
             + [orjson.dumps(e) for e in good[5:]])  # fmt: skip
    before = _metric("dashboard_ingest_dead_letter_publish_failures_total", error="TOPIC_EXCEPTION")
    group = f"g-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    # An invalid topic name: the broker answers "Invalid topic", not transient.
    stats = _consumer(topic, "dlq invalid!", group, batch_size=4, dlq_retry_seconds=60).run()
    assert time.monotonic() - started < 45  # not retried for the transient bound
    assert (stats["messages"], stats["counted"], stats["dead_letters"]) == (12, 10, 2)
    assert stats["dead_letters_unpublished"] == 2
    assert _committed(topic, group) == 12
    rows = list(DeadLetter.objects.order_by("offset"))
    assert [bytes(r.payload) for r in rows] == [b"bad one", b"bad two"]
    assert {r.publication for r in rows} == {DeadLetterPublication.FAILED}
    assert all(r.publish_error.startswith("TOPIC_EXCEPTION") for r in rows)
    after = _metric("dashboard_ingest_dead_letter_publish_failures_total", error="TOPIC_EXCEPTION")
    assert after == before + 2


def test_an_unreachable_dlq_broker_is_retried_for_the_bound_then_the_letters_are_failed(
    ingest_clean,
):
    here = Origin("wallet.events", 1, 9, None)
    ingest([b"unpublishable"], origins=[here])
    letter = DeadLetterInfo(b"unpublishable", "invalid_json", "d", "", here)
    publisher = DeadLetterPublisher(
        bootstrap_servers="127.0.0.1:1", topic="dlq", retry_seconds=3, max_backoff=0.5
    )
    started = time.monotonic()
    assert publisher.publish([letter]) is True
    assert 2.5 < time.monotonic() - started < 15
    assert publisher.last == {"truncated": 0, "failed": 1}
    row = DeadLetter.objects.get()
    assert row.publication == DeadLetterPublication.FAILED and row.publish_error


def test_a_stop_request_during_transient_retries_keeps_the_offsets_back(ingest_clean):
    """False: the consumer must not move the offsets (all is re-read, letters once)."""
    stop = {"now": False}
    publisher = DeadLetterPublisher(
        bootstrap_servers="127.0.0.1:1",
        topic="dlq",
        retry_seconds=60,
        should_stop=lambda: stop["now"],
    )
    letter = DeadLetterInfo(b"x", "invalid_json", "d", "", Origin("t", 0, 1, None))
    import threading

    threading.Timer(1.0, lambda: stop.update(now=True)).start()
    started = time.monotonic()
    assert publisher.publish([letter]) is False
    assert time.monotonic() - started < dead_letters.STOP_GRACE_SECONDS + 5


def test_a_stop_request_still_lets_a_healthy_broker_take_the_batch(ingest_clean, make_topic):
    """SIGTERM finishes the batch: DB, DLQ topic, offsets."""
    dlq = make_topic("dlq", partitions=1)
    here = Origin("wallet.events", 0, 8, None)
    ingest([b"bad at stop"], origins=[here])
    publisher = DeadLetterPublisher(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, topic=dlq, should_stop=lambda: True
    )
    letter = DeadLetterInfo(b"bad at stop", "invalid_json", "d", "", here)
    assert publisher.publish([letter]) is True
    assert [m.value() for m in _read(dlq, 1)] == [b"bad at stop"]
    assert DeadLetter.objects.get().publication == DeadLetterPublication.PUBLISHED


def test_a_broker_refusing_the_sized_copy_as_too_large_gets_a_small_one(
    ingest_clean, make_topic, monkeypatch
):
    """A topic whose limit is below the producer's: the copy sized for the producer is
    refused as too large; one cut to SMALL_COPY_BYTES goes out instead. (The local
    broker has no size limit: the producer is told the broker's answer, as librdkafka
    reports it, by sizing the first copy above the producer's own limit.)"""
    dlq = make_topic("dlq", partitions=1)
    here = Origin("wallet.events", 0, 1, b"k")
    payload = _big_invalid()
    ingest([payload], origins=[here])
    real = dead_letters.build_copy
    monkeypatch.setattr(
        dead_letters,
        "build_copy",
        lambda letter, *, max_bytes, sha=None: real(letter, max_bytes=max_bytes * 2, sha=sha),
    )
    publisher = DeadLetterPublisher(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, topic=dlq, retry_seconds=10
    )
    letter = DeadLetterInfo(payload, "invalid_json", "d", "", here)
    assert publisher.publish([letter]) is True
    assert publisher.last == {"truncated": 1, "failed": 0}
    (copy,) = _read(dlq, 1)
    assert len(copy.value()) < dead_letters.SMALL_COPY_BYTES * 2
    assert dict(copy.headers())["truncated"] == str(BIG).encode()
    assert DeadLetter.objects.get().publication == DeadLetterPublication.TRUNCATED


# ------------------------------------------------------------ admin
def test_admin_shows_publication_and_size_and_filters_on_it(admin_client):
    from django.urls import reverse

    here = Origin("wallet.events", 0, 3, b"k")
    ingest([b"x" * 2000, b"bad"], origins=[here, Origin("wallet.events", 0, 4, None)])
    DeadLetter.objects.filter(offset=3).update(
        publication=DeadLetterPublication.FAILED, publish_error="TOPIC_EXCEPTION: Invalid topic"
    )
    url = reverse("admin:dashboard_deadletter_changelist")
    failed = admin_client.get(url, {"publication__exact": "failed"})
    assert failed.status_code == 200
    assert [d.offset for d in failed.context["cl"].result_list] == [3]
    row = DeadLetter.objects.get(offset=3)
    detail = admin_client.get(reverse("admin:dashboard_deadletter_change", args=[row.id]))
    assert detail.status_code == 200
    assert b"TOPIC_EXCEPTION: Invalid topic" in detail.content and b"2000" in detail.content
    assert row.payload_sha256.encode() in detail.content
    found = admin_client.get(url, {"q": row.payload_sha256})
    assert [d.offset for d in found.context["cl"].result_list] == [3]


def test_a_re_created_topic_reusing_positions_loses_no_dead_letter_and_redelivery_adds_none(
    ingest_clean, ingest_event, ingest_rows, make_topic, kafka_admin
):
    """As `make down`/`make up` with the in-memory broker: the same topic name starts
    again at offset 0 with other messages. Every invalid one of both lives is kept
    (20 + 20), and a group re-reading the second life adds no row."""
    from confluent_kafka.admin import NewTopic

    topic, dlq = make_topic("ev", partitions=1), make_topic("dlq", partitions=1)

    def life(n):
        stream = []
        for i in range(100):
            if i % 5 == 2:
                stream.append(b"life %d: bad message %d" % (n, i))
            else:
                event = ingest_event("payment.failed", merchant_id="m_lives")
                stream.append(orjson.dumps(event))
        _produce(topic, stream)
        return _consumer(topic, dlq, f"g-{uuid.uuid4().hex[:8]}", batch_size=30).run()

    first = life(1)
    for future in kafka_admin.delete_topics([topic]).values():
        future.result(timeout=10)
    deadline = time.monotonic() + 20
    while True:  # the deletion may take a moment to be visible
        try:
            for future in kafka_admin.create_topics([NewTopic(topic, 1, 1)]).values():
                future.result(timeout=10)
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    second = life(2)
    assert (first["dead_letters"], second["dead_letters"]) == (20, 20)
    rows = DeadLetter.objects.filter(topic=topic)
    assert rows.count() == 40
    assert rows.values("offset").distinct().count() == 20  # the same 20 positions, twice
    assert ingest_rows("merchant", "m_lives")["failed_count"] == 160

    again = _consumer(topic, dlq, f"g-{uuid.uuid4().hex[:8]}", batch_size=30).run()
    assert (again["messages"], again["dead_letters"], again["counted"]) == (100, 20, 0)
    assert DeadLetter.objects.filter(topic=topic).count() == 40
