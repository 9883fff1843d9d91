"""Kafka intake of recommendations (topic sira.recommendations), in the style of the
event consumer (dashboard/ingest/consumer.py), kept simple because the volume is tiny:

1. `consume` a batch (auto commit and auto offset store off);
2. each message is taken in by `recommendation_ingest` in its own transaction
   (idempotent by external_id: a redelivered message changes nothing);
   an invalid one is written to SiraDeadLetter with its reason (unique by topic,
   partition and offset: a redelivered dead letter is not written twice);
3. after the database commits, the dead letters are published to the DLQ topic
   (original bytes, reason in the headers) and flushed;
4. only then are the offsets committed, synchronously. A crash anywhere before 4
   re-reads the batch, which 2 makes harmless.
"""

import json
import logging
import signal
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from django.db import transaction
from django.utils import timezone

from common.errors import ValidationFailed
from dashboard.ingest.kafka import committing_consumer_config
from sira.choices import DeadLetterReason, Origin
from sira.models import SiraDeadLetter
from sira.services import recommendation_ingest

log = logging.getLogger(__name__)
MAX_DETAIL = 2000


class DlqNotPublished(Exception):
    """The DLQ topic did not take the dead letters: the offsets stay uncommitted."""


class RecommendationConsumer:
    """Consumer group member: sira.recommendations -> recommendations or dead letters."""

    def __init__(
        self,
        *,
        bootstrap_servers,
        topic,
        group_id,
        dlq_topic,
        batch_size=100,
        until_idle=None,
        max_messages=None,
        session_timeout_ms=45000,
        heartbeat_interval_ms=3000,
        max_poll_interval_ms=300000,
    ):
        self.topic, self.dlq_topic = topic, dlq_topic
        self.batch_size, self.until_idle, self.max_messages = batch_size, until_idle, max_messages
        self._stop = False
        self._assigned_at = None
        self.stats = {"messages": 0, "created": 0, "duplicates": 0, "dead_letters": 0}
        self.consumer = Consumer(
            committing_consumer_config(
                bootstrap_servers=bootstrap_servers,
                group_id=group_id,
                client_id=f"sira-intake-{group_id}",
                session_timeout_ms=session_timeout_ms,
                heartbeat_interval_ms=heartbeat_interval_ms,
                max_poll_interval_ms=max_poll_interval_ms,
            )
        )
        self.dlq = Producer(
            {"bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "linger.ms": 5}
        )

    def _on_assign(self, _consumer, _partitions):
        self._assigned_at = self._assigned_at or time.monotonic()

    def request_stop(self, *_):
        """Finish the current batch (database, DLQ, offsets), then leave the group."""
        self._stop = True

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self):
        """Consume until stopped (or idle for `until_idle` s, or `max_messages` read)."""
        self.consumer.subscribe([self.topic], on_assign=self._on_assign)
        started = idle_since = time.monotonic()
        try:
            while not self._stop:
                messages = self.consumer.consume(num_messages=self.batch_size, timeout=0.5)
                good = [m for m in messages if self._usable(m)]
                if not good:
                    # Idle counts from the assignment (joining a group takes seconds).
                    if self._assigned_at and not self.stats["messages"]:
                        idle_since = max(idle_since, self._assigned_at)
                    now = time.monotonic()
                    if self.until_idle and (
                        (self._assigned_at and now - idle_since >= self.until_idle)
                        or now - started >= self.until_idle + 60
                    ):
                        break
                    continue
                idle_since = time.monotonic()
                self.process(good)
                if self.max_messages and self.stats["messages"] >= self.max_messages:
                    break
        finally:
            self.consumer.close()
            self.dlq.flush(10)
        return self.stats

    @staticmethod
    def _usable(message):
        err = message.error()
        if err is None:
            return True
        if err.code() != KafkaError._PARTITION_EOF:
            if err.fatal():
                raise KafkaException(err)
            log.warning("consume error: %s", err)
        return False

    def process(self, messages):
        """Take in one batch, publish its dead letters, then commit its offsets."""
        dead = []
        for message in messages:
            self.stats["messages"] += 1
            letter = self._ingest(message)
            if letter is not None:
                dead.append(letter)
        if dead:
            self._publish(dead)
        offsets = {}
        for m in messages:
            key = (m.topic(), m.partition())
            offsets[key] = max(offsets.get(key, 0), m.offset() + 1)
        self.consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
            asynchronous=False,
        )

    def _ingest(self, message):
        """One message -> a recommendation (None) or a dead letter row (returned)."""
        raw = message.value() or b""
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._dead(message, DeadLetterReason.NOT_JSON, str(exc))
        if not isinstance(data, dict):
            return self._dead(
                message, DeadLetterReason.INVALID, "A message carries one JSON object."
            )
        try:
            with transaction.atomic():
                _rec, created = recommendation_ingest(data=data, origin=Origin.KAFKA)
        except ValidationFailed as exc:
            detail = json.dumps(exc.errors or {"detail": exc.detail}, sort_keys=True)
            return self._dead(message, DeadLetterReason.INVALID, detail)
        self.stats["created" if created else "duplicates"] += 1
        return None

    def _dead(self, message, reason, detail):
        with transaction.atomic():
            letter, _ = SiraDeadLetter.objects.get_or_create(
                topic=message.topic(),
                partition=message.partition(),
                offset=message.offset(),
                defaults={
                    "received_at": timezone.now(),
                    "payload": message.value() or b"",
                    "reason": reason,
                    "detail": detail[:MAX_DETAIL],
                },
            )
        self.stats["dead_letters"] += 1
        return letter

    def _publish(self, letters):
        failures = []

        def delivered(err, _msg):
            if err is not None:
                failures.append(err)

        for letter in letters:
            self.dlq.produce(
                self.dlq_topic,
                value=bytes(letter.payload),
                key=f"{letter.topic}:{letter.partition}:{letter.offset}".encode(),
                headers=[
                    ("reason", str(letter.reason).encode()),
                    ("detail", letter.detail[:500].encode()),
                    ("source_topic", letter.topic.encode()),
                ],
                on_delivery=delivered,
            )
        left = self.dlq.flush(30)
        if left or failures:
            raise DlqNotPublished(f"{left} unsent, {len(failures)} failed: offsets not committed")
