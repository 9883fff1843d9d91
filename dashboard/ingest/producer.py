"""Sending contract events to the event topics: the one producer of produce_events and
backfill_demo, and the wait until a consumer group has counted what was sent."""

import logging
import time

import orjson
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from django.conf import settings

from dashboard.ingest.demo import message_key, topic_for

log = logging.getLogger("dashboard.ingest.producer")


class EventSender:
    """Keys and routes contract events as the contract says and survives a restarting broker.

    Remembers, per topic partition, the offset after the last message the
    broker acknowledged (`delivered`): what a consumer group must have
    committed to have read everything sent.
    """

    def __init__(self, wallet_topic=None, connect_topic=None):
        topics = settings.KAFKA_EVENT_TOPICS
        self.wallet_topic = wallet_topic or next((t for t in topics if "wallet" in t), topics[0])
        self.connect_topic = connect_topic or next(
            (t for t in topics if "connect" in t), topics[-1]
        )
        self.delivered = {}
        self.failed = 0
        self._producer = self._new_producer()

    @staticmethod
    def _new_producer():
        # Not idempotent: a duplicate from a retry is exactly what the
        # consumer must cope with anyway, and an idempotent producer dies
        # for good when a memory-only dev broker restarts.
        return Producer(
            {
                "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                "linger.ms": 20,
                "queue.buffering.max.messages": 500000,
            }
        )

    def _on_delivery(self, err, msg):
        if err is not None:
            self.failed += 1
            return
        key = (msg.topic(), msg.partition())
        if msg.offset() + 1 > self.delivered.get(key, 0):
            self.delivered[key] = msg.offset() + 1

    def send(self, event, payload=None, stopping=lambda: False):
        """Queue one event (`payload`: its bytes, when not `event` itself as JSON).

        Returns False only when `stopping()` said stop before it was queued."""
        topic = topic_for(event, self.wallet_topic, self.connect_topic)
        value = orjson.dumps(event) if payload is None else payload
        key = message_key(event)
        while not stopping():
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                self._producer.poll(0)
                return True
            except BufferError:
                self._producer.poll(0.1)
            except KafkaException as exc:
                log.warning("producer failed (%s): starting a new one in 2s", exc)
                time.sleep(2)
                self._producer = self._new_producer()
        return False

    def flush(self, timeout=30):
        """Wait for the broker's acknowledgements; returns how many messages are still queued."""
        return self._producer.flush(timeout)


def consumer_group_behind(group, targets, timeout=10):
    """Messages of `targets` ({(topic, partition): offset}) that `group` has not committed yet."""
    if not targets:
        return 0
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": group,
            "enable.auto.commit": False,
        }
    )
    try:
        committed = consumer.committed(
            [TopicPartition(t, p) for t, p in sorted(targets)], timeout=timeout
        )
    finally:
        consumer.close()
    behind = 0
    for tp in committed:
        done = tp.offset if tp.offset >= 0 else 0  # no commit yet: nothing read
        behind += max(0, targets[(tp.topic, tp.partition)] - done)
    return behind
