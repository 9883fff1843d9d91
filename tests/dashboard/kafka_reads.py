"""The real broker in tests: producing events, a consumer, and reading back messages and
committed offsets."""

import time
import uuid

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from django.conf import settings

from dashboard.ingest.consumer import EventConsumer


def read_messages(topic, expected, timeout=20):
    """Up to `expected` messages of `topic` (or a list of topics) from the start, by a
    fresh group; fewer if `timeout` seconds pass first."""
    c = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    c.subscribe(topic if isinstance(topic, list) else [topic])
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        out += [m for m in c.consume(num_messages=100, timeout=0.5) if m.error() is None]
    c.close()
    return out


def committed_total(topic, group, partitions):
    """The sum of `group`'s committed offsets over `topic`'s partitions."""
    c = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": group})
    got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    c.close()
    return sum(tp.offset for tp in got if tp.offset >= 0)


def produce(topic, events):
    """Send `events` (dicts as JSON, bytes as they are) to `topic`, keyed by merchant."""
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "linger.ms": 5})
    for e in events:
        payload = e if isinstance(e, bytes) else orjson.dumps(e)
        key = e.get("merchant_id", "k").encode() if isinstance(e, dict) else b"bad"
        producer.produce(topic, value=payload, key=key)
    assert producer.flush(10) == 0


def event_consumer(topics, group, dlq, **kw):
    """The service's EventConsumer on the test broker, stopping after 2 idle seconds."""
    kw.setdefault("until_idle", 2)
    return EventConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=topics,
        group_id=group,
        dlq_topic=dlq,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
        **kw,
    )
