"""Kafka intake: redeliveries never duplicate; invalid messages are dead-lettered (table
and DLQ topic) with their reason; offsets are committed after the database."""

import json
import uuid

import pytest
from confluent_kafka import Producer
from django.conf import settings

from sira.consumer import RecommendationConsumer
from sira.models import Recommendation, SiraDeadLetter
from tests.dashboard.kafka_reads import committed_total, read_messages
from tests.sira.conftest import payload

pytestmark = pytest.mark.django_db


def _produce(topic, values):
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0


def _run(topic, dlq, group):
    consumer = RecommendationConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topic=topic,
        group_id=group,
        dlq_topic=dlq,
        until_idle=1.0,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=10000,
    )
    return consumer.run()


def test_intake_with_redelivery_and_bad_messages(make_topic):
    topic, dlq = make_topic("sira", partitions=1), make_topic("sira.dlq", partitions=1)
    good, other = payload(), payload(target="merchant:m_7")
    bad = payload(action={"action_type": "SET_HOLD", "params": {"percent": "0", "days": 7}})
    values = [
        json.dumps(good).encode(),
        json.dumps(good).encode(),
        b"{not json",
        json.dumps(bad).encode(),
        json.dumps(other).encode(),
        b"[1, 2]",
    ]
    _produce(topic, values)
    group = f"sira-{uuid.uuid4().hex[:8]}"
    stats = _run(topic, dlq, group)
    assert stats == {"messages": 6, "created": 2, "duplicates": 1, "dead_letters": 3}
    assert Recommendation.objects.filter(origin="kafka").count() == 2
    letters = {dl.offset: dl for dl in SiraDeadLetter.objects.all()}
    assert sorted(letters) == [2, 3, 5]
    assert letters[2].reason == "not_json" and bytes(letters[2].payload) == b"{not json"
    assert letters[3].reason == "invalid" and "action.params.percent" in letters[3].detail
    published = read_messages(dlq, 3)
    assert sorted(m.value() for m in published) == sorted([b"{not json", values[3], b"[1, 2]"])
    assert {dict(m.headers())["reason"] for m in published} == {b"not_json", b"invalid"}
    assert committed_total(topic, group, 1) == 6
    # The whole topic delivered again (a new group reads from the start): nothing new.
    again = _run(topic, dlq, f"sira-{uuid.uuid4().hex[:8]}")
    assert again["created"] == 0 and again["duplicates"] == 3
    assert Recommendation.objects.count() == 2 and SiraDeadLetter.objects.count() == 3
