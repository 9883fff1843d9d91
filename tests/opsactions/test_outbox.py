"""The outbox: command rows commit with the effect, and the relay delivers them to the
real broker (Tansu) keyed by command id."""

import json
import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from django.conf import settings as django_settings

from opsactions import services
from opsactions.models import OutboxMessage
from opsactions.outbox import outbox_relay
from opsactions.tasks import expire_pending_actions, relay_outbox, rollback_due_actions

pytestmark = pytest.mark.django_db


def read_all(topic, expected, partitions=4, timeout=20):
    consumer = Consumer(
        {
            "bootstrap.servers": django_settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"ops-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    messages, deadline = [], time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                messages.append(msg)
    finally:
        consumer.close()
    return messages


def test_executed_command_reaches_the_broker_once_keyed_by_command_id(
    settings, make_topic, ops_admin, approver_b, pay_admin, request_action
):
    topic = make_topic("ops.commands.test")
    settings.KAFKA_OPS_COMMANDS_TOPIC = topic
    action = request_action(
        ops_admin, "PAUSE_PAYOUT", target="merchant:m_7", params={"reason_code": "fraud_suspected"}
    )
    services.action_approve(actor=approver_b, action_id=action.pk)
    services.action_approve(actor=pay_admin, action_id=action.pk)
    services.action_execute(actor=pay_admin, action_id=action.pk)
    row = OutboxMessage.objects.get(action=action)
    assert row.sent_at is None

    assert outbox_relay() == (1, 0)
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1
    assert outbox_relay() == (0, 0)  # marked sent: not published again

    [message] = read_all(topic, expected=1)
    assert message.key().decode() == str(row.id)
    payload = json.loads(message.value())
    assert payload["command_id"] == str(row.id)
    assert payload["action_type"] == "PAUSE_PAYOUT" and payload["phase"] == "execute"
    assert payload["target"] == "merchant:m_7"
    assert payload["effect"]["after"] == {"paused": True, "reason_code": "fraud_suspected"}
    assert sorted(payload["approved_by"]) == ["approver_b", "pay_admin"]
    assert dict(message.headers())["phase"] == b"execute"


def test_undeliverable_row_stays_pending_with_the_error(
    settings, ops_admin, approver_b, pay_admin, request_action
):
    # An invalid topic name is refused by the client: the row must stay unsent, not vanish.
    settings.KAFKA_OPS_COMMANDS_TOPIC = "bad topic name!"
    action = request_action(
        ops_admin,
        "ADJUST_THRESHOLD",
        target="merchant:m_8",
        params={"key": "fraud_rate_bps.max", "value": "120"},
    )
    services.action_approve(actor=approver_b, action_id=action.pk)
    services.action_execute(actor=pay_admin, action_id=action.pk)
    assert outbox_relay(flush_timeout=5) == (0, 1)
    row = OutboxMessage.objects.get(action=action)
    assert row.sent_at is None and row.attempts == 1
    assert "topic" in row.last_error.lower()


def test_beat_task_names_are_registered():
    assert relay_outbox.name == "opsactions.tasks.relay_outbox"
    assert expire_pending_actions.name == "opsactions.tasks.expire_pending_actions"
    assert rollback_due_actions.name == "opsactions.tasks.rollback_due_actions"
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {relay_outbox.name, expire_pending_actions.name, rollback_due_actions.name} <= scheduled


def test_beat_tasks_expire_and_roll_back_through_celery(
    ops_admin, approver_b, pay_admin, request_action
):
    from django.db import connection

    pending = request_action(ops_admin, target="merchant:m_exp")
    timed = request_action(ops_admin, "PAUSE_PAYOUT", target="merchant:m_tmp", expires_after="PT1H")
    services.action_approve(actor=approver_b, action_id=timed.pk)
    services.action_approve(actor=pay_admin, action_id=timed.pk)
    services.action_execute(actor=pay_admin, action_id=timed.pk)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 s' WHERE id = %s",
            [pending.pk],
        )
        cur.execute(
            "UPDATE opsactions_opsaction SET rollback_due_at = now() - interval '1 s' "
            "WHERE id = %s",
            [timed.pk],
        )
    # apply() runs the registered task through Celery's own machinery, in-process.
    assert expire_pending_actions.apply().get() == 1
    assert rollback_due_actions.apply().get() == {"rolled_back": 1, "refused": 0}
    pending.refresh_from_db()
    timed.refresh_from_db()
    assert (pending.status, timed.status) == ("expired", "rolled_back")


def test_outbox_health_turns_red_when_commands_wait_too_long(ops_admin, approver_b, request_action):
    from datetime import timedelta

    from django.utils import timezone

    from opsactions.health import outbox_health

    assert outbox_health() == (True, {"pending": 0, "oldest_age_s": 0.0})
    action = request_action(
        ops_admin, "FREEZE_AGENT", target="agent:a_h", params={"reason_code": "other"}
    )
    OutboxMessage.objects.create(
        topic="t",
        key="k",
        payload={},
        action=action,
        phase="execute",
        created_at=timezone.now() - timedelta(minutes=30),
    )
    ok, info = outbox_health()
    assert not ok and info["pending"] == 1 and info["oldest_age_s"] >= 1800
