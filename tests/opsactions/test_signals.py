"""`action_changed` is sent after the commit of each status change, never for a rollback."""

import pytest
from django.db import transaction

from opsactions import services
from opsactions.choices import ActionStatus
from opsactions.signals import action_changed


@pytest.fixture
def received():
    seen = []

    def receiver(sender, **kw):
        seen.append((kw["action_id"], kw["previous"], kw["status"], kw["action_type"]))

    action_changed.connect(receiver, weak=False)
    yield seen
    action_changed.disconnect(receiver)


@pytest.mark.django_db(transaction=True)
def test_sent_after_commit_for_each_change(
    ops_admin, approver_b, pay_admin, request_action, received
):
    action = request_action(ops_admin)
    assert received == [(action.pk, None, ActionStatus.PENDING_APPROVAL, "FREEZE_MERCHANT")]
    services.action_approve(actor=approver_b, action_id=action.pk)
    services.action_approve(actor=pay_admin, action_id=action.pk)
    assert len(received) == 2
    assert received[-1] == (
        action.pk,
        ActionStatus.PENDING_APPROVAL,
        ActionStatus.APPROVED,
        "FREEZE_MERCHANT",
    )


@pytest.mark.django_db(transaction=True)
def test_not_sent_when_the_change_rolls_back(ops_admin, request_action, received):
    with pytest.raises(RuntimeError), transaction.atomic():
        request_action(ops_admin)
        raise RuntimeError("abort")
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_does_not_undo_the_change(ops_admin, request_action, received):
    def broken(sender, **kw):
        raise ValueError("receiver bug")

    action_changed.connect(broken, weak=False)
    try:
        action = request_action(ops_admin)
    finally:
        action_changed.disconnect(broken)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    assert received[-1][2] == ActionStatus.PENDING_APPROVAL
