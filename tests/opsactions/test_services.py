"""Maker-checker rules of the service layer (the API and the admin both call it)."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from common import dbroles
from common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, AuditEvent
from opsactions.models import AuditEntry, MerchantControl, OpsAction, OutboxMessage, PayoutControl

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEntry.objects.filter(action_id=action.pk).values_list("event", flat=True))


def test_create_freezes_params_computes_risk_and_submits(ops_admin, request_action):
    action = request_action(ops_admin)
    assert action.status == ActionStatus.PENDING_APPROVAL
    assert action.risk_level == "medium" and action.required_approvals == 2
    assert len(action.params_hash) == 64
    assert events(action) == [AuditEvent.REQUESTED]
    assert action.expires_at - action.created_at == timedelta(hours=24)


def test_medium_action_approved_after_two_votes(ops_admin, approver_b, pay_admin, request_action):
    action = request_action(ops_admin)
    services.action_approve(actor=approver_b, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    services.action_approve(actor=pay_admin, action_id=action.pk, comment="ok")
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    assert events(action)[-2:] == [AuditEvent.APPROVAL, AuditEvent.APPROVED]


def test_requester_cannot_approve_own_action(ops_admin, request_action):
    action = request_action(ops_admin)
    with pytest.raises(NotAllowed) as exc:
        services.action_approve(actor=ops_admin, action_id=action.pk)
    assert exc.value.code == "self_approval"


def test_superuser_cannot_self_approve(super_ops, request_action):
    action = request_action(super_ops)
    with pytest.raises(NotAllowed) as exc:
        services.action_approve(actor=super_ops, action_id=action.pk)
    assert exc.value.code == "self_approval"


def test_requester_cannot_reject_own_action(ops_admin, request_action):
    action = request_action(ops_admin)
    with pytest.raises(NotAllowed):
        services.action_reject(actor=ops_admin, action_id=action.pk, reason="no")


def test_second_vote_by_same_approver_is_refused(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    services.action_approve(actor=approver_b, action_id=action.pk)
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=approver_b, action_id=action.pk)
    assert exc.value.code == "already_voted"
    with pytest.raises(Conflict):
        services.action_reject(actor=approver_b, action_id=action.pk, reason="changed my mind")


def test_single_rejection_vetoes_and_later_approval_is_refused(
    ops_admin, approver_b, pay_admin, ops_c, request_action
):
    action = request_action(ops_admin)
    services.action_approve(actor=approver_b, action_id=action.pk)
    services.action_reject(actor=pay_admin, action_id=action.pk, reason="not justified")
    action.refresh_from_db()
    assert action.status == ActionStatus.REJECTED
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=ops_c, action_id=action.pk)
    assert exc.value.code == "action_rejected"


def test_reject_needs_a_reason(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    with pytest.raises(ValidationFailed):
        services.action_reject(actor=approver_b, action_id=action.pk, reason="  ")


@pytest.mark.parametrize("fixture", ["merchant_admin_m1", "agent_user", "sira_service", "outsider"])
def test_ineligible_roles_cannot_approve(fixture, request, ops_admin, request_action):
    user = request.getfixturevalue(fixture)
    action = request_action(ops_admin)
    with pytest.raises(NotAllowed):
        services.action_approve(actor=user, action_id=action.pk)


@pytest.mark.parametrize("fixture", ["merchant_admin_m1", "agent_user", "outsider"])
def test_tenants_cannot_request(fixture, request, request_action):
    with pytest.raises(NotAllowed):
        request_action(request.getfixturevalue(fixture))


def test_sira_may_request_tightening_but_not_loosening(sira_service, request_action):
    assert request_action(sira_service).status == ActionStatus.PENDING_APPROVAL
    with pytest.raises(NotAllowed):
        request_action(sira_service, "UNFREEZE_MERCHANT")


def test_finance_ops_may_approve_but_not_execute(ops_admin, finance_ops, pay_admin, request_action):
    action = request_action(
        ops_admin, "SET_HOLD", params={"kind": "percent", "percent": "20", "days": 7}
    )
    services.action_approve(actor=finance_ops, action_id=action.pk)
    services.action_approve(actor=pay_admin, action_id=action.pk)
    with pytest.raises(NotAllowed):
        services.action_execute(actor=finance_ops, action_id=action.pk)


def test_second_open_action_same_type_and_target_is_conflict(ops_admin, approver_b, request_action):
    request_action(ops_admin)
    with pytest.raises(Conflict) as exc:
        request_action(approver_b)
    assert exc.value.code == "open_action_exists"
    # another target is fine
    assert request_action(approver_b, target="merchant:m_2").pk


def test_slot_frees_after_cancel(ops_admin, request_action):
    action = request_action(ops_admin)
    services.action_cancel(actor=ops_admin, action_id=action.pk)
    assert request_action(ops_admin).pk != action.pk


def test_only_requester_cancels(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    with pytest.raises(NotAllowed):
        services.action_cancel(actor=approver_b, action_id=action.pk)


def test_cannot_execute_unapproved(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    with pytest.raises(Conflict) as exc:
        services.action_execute(actor=approver_b, action_id=action.pk)
    assert exc.value.code == "action_pending_approval"
    assert not MerchantControl.objects.exists()


def approved(request_action, requester, voters, *args, **kw):
    action = request_action(requester, *args, **kw)
    for voter in voters:
        services.action_approve(actor=voter, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    return action


def test_execute_writes_control_and_outbox_once(ops_admin, approver_b, pay_admin, request_action):
    action = approved(request_action, ops_admin, [approver_b, pay_admin])
    services.action_execute(actor=ops_admin, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    control = MerchantControl.objects.get(merchant_id="m_1")
    assert control.status == "frozen"
    assert action.result == {
        "before": None,
        "after": {"status": "frozen", "reason_code": "fraud_suspected"},
    }
    message = OutboxMessage.objects.get(action=action)
    assert message.payload["action_type"] == "FREEZE_MERCHANT"
    assert message.key == message.payload["command_id"]
    with pytest.raises(Conflict):
        services.action_execute(actor=ops_admin, action_id=action.pk)
    assert OutboxMessage.objects.filter(action=action).count() == 1


def test_failing_executor_leaves_no_partial_effect(
    ops_admin, approver_b, pay_admin, request_action, monkeypatch
):
    action = approved(request_action, ops_admin, [approver_b, pay_admin])

    def boom(**kwargs):
        raise RuntimeError("outbox down")

    # The control row is written first, then the outbox write fails: both must vanish.
    monkeypatch.setattr(services, "outbox_enqueue", boom)
    services.action_execute(actor=ops_admin, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED
    assert "outbox down" in action.error
    assert not MerchantControl.objects.exists()
    assert events(action)[-2:] == [AuditEvent.APPROVED, AuditEvent.FAILED]


def test_release_without_hold_fails_cleanly(ops_admin, approver_b, pay_admin, request_action):
    action = approved(request_action, ops_admin, [approver_b, pay_admin], "RELEASE_HOLD")
    services.action_execute(actor=pay_admin, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED
    assert "no active hold" in action.error


def test_pending_action_expires_and_then_cannot_be_approved(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    later = timezone.now() + timedelta(hours=25)
    assert services.actions_expire_pending(now=later) == 0  # not yet due in real time
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 minute' "
            "WHERE id = %s",
            [action.pk],
        )
    assert services.actions_expire_pending() == 1
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=approver_b, action_id=action.pk)
    assert exc.value.code == "action_expired"


def test_vote_after_expiry_time_expires_the_action(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 second' "
            "WHERE id = %s",
            [action.pk],
        )
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=approver_b, action_id=action.pk)
    assert exc.value.code == "action_expired"
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED
    assert AuditEvent.EXPIRED in events(action)


def test_params_cannot_be_edited_in_the_database(ops_admin, request_action):
    action = request_action(ops_admin)
    with pytest.raises(DatabaseError), transaction.atomic():
        OpsAction.objects.filter(pk=action.pk).update(params={"reason_code": "other"})


def test_approval_bound_to_the_reviewed_hash(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=approver_b, action_id=action.pk, params_hash="0" * 64)
    assert exc.value.code == "params_hash_mismatch"
    services.action_approve(actor=approver_b, action_id=action.pk, params_hash=action.params_hash)


@pytest.mark.django_db(transaction=True)
def test_tampered_params_with_trigger_disabled_are_refused(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    # As the owner (the application's role may not disable a trigger), on committed rows.
    with dbroles.as_owner(), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks before ALTER
        cur.execute("ALTER TABLE opsactions_opsaction DISABLE TRIGGER opsactions_action_frozen")
        cur.execute(
            'UPDATE opsactions_opsaction SET params = \'{"reason_code": "other"}\' WHERE id = %s',
            [action.pk],
        )
        cur.execute("ALTER TABLE opsactions_opsaction ENABLE TRIGGER opsactions_action_frozen")
    with pytest.raises(Conflict) as exc:
        services.action_approve(actor=approver_b, action_id=action.pk)
    assert exc.value.code == "params_tampered"


def test_high_risk_needs_three_including_ops_admin(
    ops_admin, pay_admin, pay_b, finance_ops, approver_b, request_action
):
    action = request_action(pay_admin, "PAUSE_PAYOUT", target="region:SN")
    assert (action.risk_level, action.required_approvals) == ("high", 3)
    for voter in (pay_b, finance_ops):
        services.action_approve(actor=voter, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    services.action_approve(actor=approver_b, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED


def test_quorum_waits_for_required_role(
    pay_admin, pay_b, finance_ops, ops_admin, django_user_model, request_action
):
    from accounts.choices import Role
    from tests.factories import make_user

    pay_c = make_user("pay_c", Role.PAY_ADMIN)
    action = request_action(ops_admin, "PAUSE_PAYOUT", target="bank:b_1")
    for voter in (pay_admin, pay_b, pay_c):
        services.action_approve(actor=voter, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL  # 3 votes, no ops_admin among them


def test_platform_pause_is_critical(ops_admin, request_action):
    action = request_action(ops_admin, "PAUSE_PAYOUT", target="platform")
    assert (action.risk_level, action.required_approvals) == ("critical", 4)


def test_region_staff_act_only_in_their_country(region_sn, request_action):
    assert request_action(region_sn, "PAUSE_PAYOUT", target="region:SN").target_country == "SN"
    with pytest.raises(NotAllowed) as exc:
        request_action(region_sn, "PAUSE_PAYOUT", target="region:CI")
    assert exc.value.code == "target_out_of_scope"
    with pytest.raises(NotAllowed):
        request_action(region_sn, "FREEZE_MERCHANT", target="merchant:m_9")


def test_region_staff_cannot_approve_elsewhere(ops_admin, region_sn, request_action):
    action = request_action(ops_admin, "PAUSE_PAYOUT", target="region:CI")
    with pytest.raises(NotAllowed):
        services.action_approve(actor=region_sn, action_id=action.pk)


def test_rollback_restores_previous_state(ops_admin, approver_b, pay_admin, request_action):
    action = approved(
        request_action, ops_admin, [approver_b, pay_admin], "PAUSE_PAYOUT", target="merchant:m_1"
    )
    services.action_execute(actor=ops_admin, action_id=action.pk)
    assert PayoutControl.objects.get(scope="merchant:m_1").paused
    services.action_rollback(actor=pay_admin, action_id=action.pk, reason="false alarm")
    services.action_rollback(actor=approver_b, action_id=action.pk, reason="agreed")
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK
    assert not PayoutControl.objects.filter(scope="merchant:m_1").exists()
    assert OutboxMessage.objects.filter(action=action, phase="rollback").count() == 1


def test_rollback_refused_when_state_changed_since(
    ops_admin, approver_b, pay_admin, request_action
):
    action = approved(
        request_action, ops_admin, [approver_b, pay_admin], "PAUSE_PAYOUT", target="merchant:m_1"
    )
    services.action_execute(actor=ops_admin, action_id=action.pk)
    PayoutControl.objects.filter(scope="merchant:m_1").update(reason_code="compliance")
    services.action_rollback(actor=approver_b, action_id=action.pk, reason="undo")
    with pytest.raises(Conflict) as exc:
        services.action_rollback(actor=pay_admin, action_id=action.pk, reason="undo")
    assert exc.value.code == "rollback_failed"
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    assert events(action)[-1] == AuditEvent.ROLLBACK_FAILED


def test_expires_after_rolls_back_automatically(ops_admin, approver_b, pay_admin, request_action):
    action = approved(
        request_action,
        ops_admin,
        [approver_b, pay_admin],
        "PAUSE_PAYOUT",
        target="merchant:m_1",
        expires_after="PT6H",
    )
    services.action_execute(actor=ops_admin, action_id=action.pk)
    action.refresh_from_db()
    assert action.rollback_due_at == action.executed_at + timedelta(hours=6)
    assert services.actions_rollback_due() == (0, 0)
    assert services.actions_rollback_due(now=timezone.now() + timedelta(hours=7)) == (1, 0)
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK
    assert AuditEntry.objects.filter(action_id=action.pk).last().actor_username == "system"


def test_irreversible_types_refuse_duration_and_rollback(
    ops_admin, finance_ops, pay_admin, request_action
):
    params = {"transaction_id": "tx_1", "amount": "5000", "currency": "XOF", "reason": "dup"}
    with pytest.raises(ValidationFailed) as exc:
        request_action(ops_admin, "REVERSE_TRANSACTION", params=params, expires_after="PT1H")
    assert "expires_after" in exc.value.errors
    action = approved(
        request_action, ops_admin, [finance_ops, pay_admin], "REVERSE_TRANSACTION", params=params
    )
    services.action_execute(actor=pay_admin, action_id=action.pk)
    with pytest.raises(Conflict) as exc:
        services.action_rollback(actor=pay_admin, action_id=action.pk, reason="x")
    assert exc.value.code == "not_reversible"


def test_large_reversal_is_high_risk_and_needs_finance(ops_admin, request_action):
    params = {"transaction_id": "tx_2", "amount": "2000000", "currency": "XOF", "reason": "r"}
    action = request_action(ops_admin, "REVERSE_TRANSACTION", params=params)
    assert (action.risk_level, action.required_role) == ("high", "finance_ops")


@pytest.mark.parametrize(
    "action_type,target,params,field",
    [
        ("FREEZE_MERCHANT", "merchant:m_1", {}, "params.reason_code"),
        ("FREEZE_MERCHANT", "merchant:m_1", {"reason_code": "x", "extra": 1}, "params.extra"),
        ("FREEZE_MERCHANT", "agent:a_1", {"reason_code": "other"}, "target"),
        ("FREEZE_MERCHANT", "merchant:", {"reason_code": "other"}, "target"),
        ("SET_HOLD", "merchant:m_1", {"kind": "percent", "days": 3}, "params.percent"),
        (
            "SET_HOLD",
            "merchant:m_1",
            {"kind": "amount", "amount": 1.5, "currency": "XOF", "days": 3},
            "params.amount",
        ),
        (
            "REVERSE_TRANSACTION",
            "merchant:m_1",
            {"transaction_id": "t", "amount": "-1", "currency": "XOF", "reason": "r"},
            "params.amount",
        ),
        ("FORCE_RECONCILIATION", "bank:b_1", {"date": "2999-01-01"}, "params.date"),
        ("NOPE", "merchant:m_1", {}, "action_type"),
    ],
)
def test_bad_input_is_400_with_field(ops_admin, request_action, action_type, target, params, field):
    with pytest.raises(ValidationFailed) as exc:
        request_action(ops_admin, action_type, target=target, params=params)
    assert field in exc.value.errors


def test_unknown_action_is_not_found(approver_b):
    with pytest.raises(NotFound):
        services.action_approve(actor=approver_b, action_id=999999)


def test_audit_chain_verifies_after_a_workflow(ops_admin, approver_b, pay_admin, request_action):
    action = approved(request_action, ops_admin, [approver_b, pay_admin])
    services.action_execute(actor=ops_admin, action_id=action.pk)
    result = audit_verify()
    assert result.ok and result.count == AuditEntry.objects.count() >= 5
