"""Transactional outbox for Kafka `ops.commands`.

`outbox_enqueue` writes the command row in the caller's transaction (with the
effect it describes: both commit or neither). `outbox_relay` publishes unsent
rows with the command id as key and marks them sent after the broker acked:
at-least-once (a crash between ack and mark re-sends; consumers dedupe on the
key).
"""

import json
import logging
import threading

from confluent_kafka import Producer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from opsactions.audit import jsonable
from opsactions.models import OutboxMessage

logger = logging.getLogger(__name__)
_producers = {}
_producers_lock = threading.Lock()


def outbox_enqueue(*, action, phase, effect, actor, now):
    """Write the command for `action` (`phase` execute|rollback) into the outbox."""
    message = OutboxMessage(
        topic=settings.KAFKA_OPS_COMMANDS_TOPIC, action=action, phase=phase, created_at=now
    )
    message.key = str(message.id)
    message.payload = jsonable(
        {
            "command_id": str(message.id),
            "action_id": action.pk,
            "action_type": action.action_type,
            "phase": phase,
            "target": action.target,
            "params": action.params,
            "params_hash": action.params_hash,
            "effect": effect,
            "risk_level": action.risk_level,
            "approved_by": [
                a.approver.username
                for a in action.approvals.select_related("approver")
                if a.decision == "approve"
            ],
            "issued_by": getattr(actor, "username", None) or "system",
            "issued_at": now,
        }
    )
    message.save(force_insert=True)
    return message


def _producer():
    servers = settings.KAFKA_BOOTSTRAP_SERVERS
    with _producers_lock:
        if servers not in _producers:
            _producers[servers] = Producer(
                {
                    "bootstrap.servers": servers,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.timeout.ms": 15000,
                }
            )
        return _producers[servers]


def _produce(producer, row, on_delivery):
    producer.produce(
        row.topic,
        key=row.key.encode(),
        value=json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode(),
        headers=[("phase", row.phase.encode()), ("action_id", str(row.action_id).encode())],
        on_delivery=lambda err, msg, row_id=row.id: on_delivery(err, msg, row_id),
    )


def outbox_relay(*, batch=None, flush_timeout=15.0):
    """Publish up to `batch` unsent commands; returns (sent, failed) counts.

    Rows are claimed with SKIP LOCKED so two relays never publish the same row
    at the same time; the row lock is held until the broker answered.
    """
    batch = batch or settings.OUTBOX_RELAY_BATCH
    producer = _producer()
    sent = failed = 0
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .order_by("created_at")[:batch]
        )
        if not rows:
            return 0, 0
        outcome = {}

        def on_delivery(err, msg, row_id):
            outcome[row_id] = err

        for row in rows:
            try:
                _produce(producer, row, on_delivery)
            except Exception as exc:  # noqa: BLE001 - e.g. BufferError: retried next tick
                outcome[row.id] = exc
        producer.flush(flush_timeout)
        now = timezone.now()
        for row in rows:
            err = outcome.get(row.id, "no delivery report before timeout")
            row.attempts += 1
            if err is None:
                row.sent_at, row.last_error = now, ""
                sent += 1
            else:
                row.last_error = str(err)[:2000]
                failed += 1
                logger.warning("outbox %s not delivered: %s", row.id, err)
            row.save(update_fields=["attempts", "sent_at", "last_error"])
    return sent, failed
