"""Shared by the adversarial tests (test_attack_*.py): the request they start from, and short
ways to create, approve, execute and inspect an action."""

import pytest
from django.db import connection
from django.test import Client

from opsactions import services
from opsactions.choices import ActionStatus
from opsactions.models import (
    AuditEntry,
    OpsAction,
    OpsApproval,
    OutboxMessage,
)

URL = "/api/dashboard/ops/actions"
ADMIN = "/admin/opsactions/opsaction/"
FREEZE = {
    "action_type": "FREEZE_MERCHANT",
    "target": "merchant:m_adv",
    "params": {"reason_code": "fraud_suspected"},
    "reason": "chargeback spike",
}


def create(actor, body=None, **kw):
    body = {**FREEZE, **(body or {})}
    return services.action_create(
        actor=actor,
        action_type=body["action_type"],
        target=body["target"],
        params=body["params"],
        reason=body["reason"],
        **kw,
    )


def approve_all(action, *voters):
    for voter in voters:
        services.action_approve(actor=voter, action_id=action.pk, comment="ok")
    action.refresh_from_db()
    return action


def executed(crew, body=None, **kw):
    action = approve_all(create(crew["ops1"], body, **kw), crew["ops2"], crew["pay1"])
    return services.action_execute(actor=crew["pay2"], action_id=action.pk)


def events(action):
    return list(
        AuditEntry.objects.filter(action_id=action.pk)
        .order_by("seq")
        .values_list("event", flat=True)
    )


def session(user, **kw):
    client = Client(REMOTE_ADDR="198.51.100.9", **kw)
    client.force_login(user)
    return client


def snapshot(action):
    """Everything an attack could change: the row, its votes, its audit rows, its outbox."""
    row = OpsAction.objects.filter(pk=action.pk).values().get()
    votes = list(OpsApproval.objects.filter(action_id=action.pk).values())
    return row, votes, events(action), OutboxMessage.objects.filter(action_id=action.pk).count()


def assert_refused(call, error, code):
    with pytest.raises(error) as exc:
        call()
    assert exc.value.code == code, exc.value.detail
    return exc.value


def terminal(crew, status):
    """An action brought to `status` by the legitimate path."""
    action = create(crew["ops1"], {"target": f"merchant:m_{status}"})
    if status == ActionStatus.REJECTED:
        services.action_reject(actor=crew["ops2"], action_id=action.pk, reason="no")
    elif status == ActionStatus.CANCELLED:
        services.action_cancel(actor=crew["ops1"], action_id=action.pk, reason="oops")
    elif status == ActionStatus.EXPIRED:
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 minute' "
                "WHERE id = %s",
                [action.pk],
            )
        services.actions_expire_pending()
    elif status == ActionStatus.APPROVED:
        approve_all(action, crew["ops2"], crew["pay1"])
    elif status in (ActionStatus.EXECUTED, ActionStatus.ROLLED_BACK):
        approve_all(action, crew["ops2"], crew["pay1"])
        services.action_execute(actor=crew["pay2"], action_id=action.pk)
        if status == ActionStatus.ROLLED_BACK:
            # Two different people: the first asks, the second performs.
            services.action_rollback(actor=crew["pay2"], action_id=action.pk, reason="undo")
            services.action_rollback(actor=crew["ops3"], action_id=action.pk, reason="agreed")
    elif status == ActionStatus.FAILED:
        action = create(crew["ops1"], {"action_type": "RELEASE_HOLD", "params": {}})
        approve_all(action, crew["ops2"], crew["pay1"])
        services.action_execute(actor=crew["pay2"], action_id=action.pk)
    action.refresh_from_db()
    assert action.status == status
    return action
