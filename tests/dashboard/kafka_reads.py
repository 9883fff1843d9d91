"""Reading back what a test's consumer wrote to the real broker: messages and committed offsets."""

import time
import uuid

from confluent_kafka import Consumer, TopicPartition
from django.conf import settings


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
