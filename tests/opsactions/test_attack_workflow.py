"""The workflow out of order: double votes, stale hashes, votes after the decision, execution
of what is not approved, twice, rollbacks of what never ran, cancels by others or too late.
"""

import pytest
from django.db import connection

from common.errors import Conflict
from opsactions import services
from opsactions.choices import ActionStatus, AuditEvent
from opsactions.models import (
    MerchantControl,
    OutboxMessage,
    TransactionReversal,
)
from tests.opsactions.adversary import (
    URL,
    assert_refused,
    create,
    events,
    executed,
    snapshot,
    terminal,
)

pytestmark = pytest.mark.django_db


def test_double_votes_are_refused_whatever_the_decision(crew, client_for):
    action = create(
        crew["ops1"], {"action_type": "PAUSE_PAYOUT", "target": "platform", "params": {}}
    )
    client = client_for(crew["ops2"])
    assert client.post(f"{URL}/{action.pk}/approve", {}).status_code == 200
    for verb, body in [("approve", {}), ("reject", {"reason": "actually no"})]:
        response = client.post(f"{URL}/{action.pk}/{verb}", body)
        assert response.status_code == 409 and response.json()["code"] == "already_voted"
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL and action.approvals.count() == 1
    assert events(action).count(AuditEvent.APPROVAL) == 1


def test_tampered_or_stale_params_hash_is_refused_and_not_counted(crew, client_for):
    action = create(crew["ops1"])
    client = client_for(crew["ops2"])
    forged = client.post(f"{URL}/{action.pk}/approve", {"params_hash": "f" * 64})
    assert forged.status_code == 409 and forged.json()["code"] == "params_hash_mismatch"
    bad = client.post(f"{URL}/{action.pk}/approve", {"params_hash": "F" * 64})
    assert bad.status_code == 400 and "params_hash" in bad.json()["errors"]
    assert action.approvals.count() == 0
    ok = client.post(f"{URL}/{action.pk}/approve", {"params_hash": action.params_hash})
    assert ok.status_code == 200 and ok.json()["approvals"][0]["params_hash"] == action.params_hash


LATE = [
    ActionStatus.REJECTED,
    ActionStatus.CANCELLED,
    ActionStatus.EXPIRED,
    ActionStatus.APPROVED,
    ActionStatus.EXECUTED,
    ActionStatus.FAILED,
    ActionStatus.ROLLED_BACK,
]


@pytest.mark.parametrize("status", LATE)
def test_votes_after_the_decision_are_409_and_change_nothing(crew, client_for, status):
    action = terminal(crew, status)
    before = snapshot(action)
    for voter in ("ops3", "fin2"):
        client = client_for(crew[voter])
        for verb, body in [("approve", {}), ("reject", {"reason": "late veto"})]:
            response = client.post(f"{URL}/{action.pk}/{verb}", body)
            if voter == "fin2" and action.action_type == "FREEZE_MERCHANT":  # not eligible
                assert response.status_code == 403
                continue
            assert response.status_code == 409, (status, verb, response.json())
            assert response.json()["code"] == f"action_{status}"
    assert snapshot(action) == before


@pytest.mark.parametrize(
    "status",
    [
        ActionStatus.PENDING_APPROVAL,
        ActionStatus.REJECTED,
        ActionStatus.CANCELLED,
        ActionStatus.EXPIRED,
        ActionStatus.FAILED,
        ActionStatus.ROLLED_BACK,
        ActionStatus.EXECUTED,
    ],
)
def test_only_an_approved_action_executes(crew, client_for, status):
    action = (
        create(crew["ops1"]) if status == ActionStatus.PENDING_APPROVAL else terminal(crew, status)
    )
    before = snapshot(action)
    controls = list(MerchantControl.objects.values())
    for who in ("ops1", "pay2", "super_ops"):
        response = client_for(crew[who]).post(f"{URL}/{action.pk}/execute")
        assert response.status_code == 409, (status, who, response.json())
        assert response.json()["code"] == f"action_{status}"
    assert snapshot(action) == before
    assert list(MerchantControl.objects.values()) == controls


def test_requester_alone_cannot_execute_with_partial_approvals(crew, client_for):
    action = create(crew["ops1"])
    services.action_approve(actor=crew["ops2"], action_id=action.pk)
    response = client_for(crew["ops1"]).post(f"{URL}/{action.pk}/execute")
    assert response.status_code == 409 and response.json()["code"] == "action_pending_approval"
    assert not MerchantControl.objects.filter(merchant_id="m_adv").exists()


def test_execute_twice_and_rollback_twice(crew, client_for):
    action = executed(crew)
    again = client_for(crew["ops3"]).post(f"{URL}/{action.pk}/execute")
    assert again.status_code == 409 and again.json()["code"] == "action_executed"
    first = client_for(crew["ops3"]).post(f"{URL}/{action.pk}/rollback", {"reason": "undo"})
    assert first.status_code == 202 and first.json()["status"] == "executed"
    second = client_for(crew["pay1"]).post(f"{URL}/{action.pk}/rollback", {"reason": "undo"})
    assert second.status_code == 200 and second.json()["status"] == "rolled_back"
    third = client_for(crew["pay2"]).post(f"{URL}/{action.pk}/rollback", {"reason": "undo"})
    assert third.status_code == 409 and third.json()["code"] == "action_rolled_back"
    assert OutboxMessage.objects.filter(action=action).count() == 2
    assert events(action).count(AuditEvent.ROLLED_BACK) == 1


@pytest.mark.parametrize(
    "status",
    [
        ActionStatus.PENDING_APPROVAL,
        ActionStatus.APPROVED,
        ActionStatus.REJECTED,
        ActionStatus.CANCELLED,
        ActionStatus.EXPIRED,
        ActionStatus.FAILED,
    ],
)
def test_rollback_of_a_never_executed_action_is_409(crew, client_for, status):
    action = (
        create(crew["ops1"]) if status == ActionStatus.PENDING_APPROVAL else terminal(crew, status)
    )
    before = snapshot(action)
    response = client_for(crew["pay2"]).post(f"{URL}/{action.pk}/rollback", {"reason": "x"})
    assert response.status_code == 409 and response.json()["code"] == f"action_{status}"
    assert snapshot(action) == before


def test_rollback_needs_execute_rights(crew, client_for):
    action = executed(crew)
    for who in ("fin1", "sira"):
        response = client_for(crew[who]).post(f"{URL}/{action.pk}/rollback", {"reason": "x"})
        assert response.status_code == 403, who
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED


@pytest.mark.parametrize("who", ["ops2", "super_ops", "pay1"])
def test_only_the_requester_cancels(crew, client_for, who):
    action = create(crew["ops1"])
    response = client_for(crew[who]).post(f"{URL}/{action.pk}/cancel", {})
    assert response.status_code == 403 and response.json()["code"] == "not_requester"
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL


def test_requester_cannot_cancel_after_execution(crew, client_for):
    action = executed(crew)
    response = client_for(crew["ops1"]).post(f"{URL}/{action.pk}/cancel", {})
    assert response.status_code == 409 and response.json()["code"] == "action_executed"


def test_cancel_after_the_deadline_records_the_expiry_not_a_cancel(crew):
    action = create(crew["ops1"])
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 s' WHERE id = %s",
            [action.pk],
        )
    assert_refused(
        lambda: services.action_cancel(actor=crew["ops1"], action_id=action.pk),
        Conflict,
        "action_expired",
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED
    assert events(action)[-1] == AuditEvent.EXPIRED


def test_a_transaction_is_reversed_once_even_by_two_executed_actions(crew):
    body = {
        "action_type": "REVERSE_TRANSACTION",
        "target": "merchant:m_1",
        "params": {"transaction_id": "t_once", "amount": "5000", "currency": "XOF", "reason": "x"},
    }
    first = executed(crew, body)
    assert first.status == ActionStatus.EXECUTED
    second = executed(crew, body)  # the first is closed, so a second may be requested
    assert second.status == ActionStatus.FAILED
    assert "already reversed" in second.error
    assert TransactionReversal.objects.filter(transaction_id="t_once").count() == 1
