"""The database itself: every transition is audited; rows edited, inserted or reset in SQL
(with or without the triggers) are refused by the database or by the services, and
`verify_audit` finds what got through.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from common import dbroles
from common.errors import Conflict
from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus
from opsactions.models import (
    AuditEntry,
    MerchantControl,
    OpsAction,
    OutboxMessage,
)
from tests.opsactions.adversary import (
    FREEZE,
    URL,
    approve_all,
    assert_refused,
    create,
    executed,
    terminal,
)

pytestmark = pytest.mark.django_db


def test_every_transition_is_audited_with_actor_role_request_and_ip(crew, client_for):
    def call(user, method, path, body=None, rid=None):
        client = client_for(user)
        return getattr(client, method)(
            path, body or {}, format="json", REMOTE_ADDR="203.0.113.5", HTTP_X_REQUEST_ID=rid
        )

    created = call(crew["ops1"], "post", URL, {**FREEZE, "expires_after": "PT6H"}, "rid-create")
    action_id = created.json()["id"]
    call(crew["ops2"], "post", f"{URL}/{action_id}/approve", {"comment": "a"}, "rid-a1")
    call(crew["pay1"], "post", f"{URL}/{action_id}/approve", {"comment": "b"}, "rid-a2")
    call(crew["pay2"], "post", f"{URL}/{action_id}/execute", None, "rid-exec")
    call(crew["ops3"], "post", f"{URL}/{action_id}/rollback", {"reason": "undo"}, "rid-rb1")
    call(crew["pay1"], "post", f"{URL}/{action_id}/rollback", {"reason": "agreed"}, "rid-rb2")
    rows = list(AuditEntry.objects.filter(action_id=action_id).order_by("seq"))
    expected = [
        ("requested", "adv_ops1", "ops_admin", "rid-create", "pending_approval"),
        ("approval", "adv_ops2", "ops_admin", "rid-a1", "pending_approval"),
        ("approval", "adv_pay1", "pay_admin", "rid-a2", "pending_approval"),
        ("approved", "adv_pay1", "pay_admin", "rid-a2", "approved"),
        ("executed", "adv_pay2", "pay_admin", "rid-exec", "executed"),
        ("rollback_requested", "adv_ops3", "ops_admin", "rid-rb1", "executed"),
        ("rolled_back", "adv_pay1", "pay_admin", "rid-rb2", "rolled_back"),
    ]
    assert [(r.event, r.actor_username, r.actor_role, r.request_id) for r in rows] == [
        e[:4] for e in expected
    ]
    for row in rows:
        assert row.client_ip == "203.0.113.5" and row.actor_id
        assert row.after and (row.before or row.event == "requested")
    assert [r.after["status"] for r in rows] == [e[4] for e in expected]
    assert rows[1].after["vote"]["params_hash"] == rows[0].after["params_hash"]
    assert rows[4].after["effect"]["after"] == {
        "status": "frozen",
        "reason_code": "fraud_suspected",
    }
    assert audit_verify().ok


def test_refusals_leave_state_and_chain_intact(crew, client_for):
    action = create(crew["ops1"])
    head = AuditEntry.objects.order_by("-seq").first().hash
    client_for(crew["ops1"]).post(f"{URL}/{action.pk}/approve", {})
    client_for(crew["merchant"]).post(f"{URL}/{action.pk}/approve", {})
    client_for(crew["ops2"]).post(f"{URL}/{action.pk}/execute")
    client_for(crew["ops2"]).post(f"{URL}/{action.pk}/cancel")
    assert AuditEntry.objects.order_by("-seq").first().hash == head
    assert audit_verify().ok


def tamper(table, trigger, sql, params=()):
    """As the schema's owner: the application's role may not disable a trigger
    (tests/test_db_roles.py). Another connection, so the test is transactional."""
    with dbroles.as_owner(), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cur.execute(sql, params)
        cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE opsactions_auditentry SET actor_username = 'someone_else' WHERE seq = %s",
        "UPDATE opsactions_auditentry SET after = '{}'::jsonb WHERE seq = %s",
        "UPDATE opsactions_auditentry SET client_ip = '10.0.0.1' WHERE seq = %s",
        "DELETE FROM opsactions_auditentry WHERE seq = %s",
    ],
)
@pytest.mark.django_db(transaction=True)
def test_verify_audit_finds_tampering_with_the_trigger_disabled(crew, sql):
    action = executed(crew)
    target = AuditEntry.objects.filter(action_id=action.pk, event="approval").first().seq
    tamper("opsactions_auditentry", "opsactions_audit_append_only", sql, [target])
    result = audit_verify()
    assert not result.ok and result.broken_seq in (target, target + 1)
    with pytest.raises(CommandError, match=f"BROKEN at seq {result.broken_seq}"):
        call_command("verify_audit")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE opsactions_auditentry SET actor_username = 'x' WHERE action_id = %s",
        "DELETE FROM opsactions_auditentry WHERE action_id = %s",
        "UPDATE opsactions_opsapproval SET decision = 'approve' WHERE action_id = %s",
        "UPDATE opsactions_opsapproval SET approver_id = approver_id WHERE action_id = %s",
        "DELETE FROM opsactions_opsapproval WHERE action_id = %s",
        "UPDATE opsactions_opsaction SET params = '{}'::jsonb WHERE id = %s",
        "UPDATE opsactions_opsaction SET required_approvals = 1 WHERE id = %s",
        "UPDATE opsactions_opsaction SET risk_level = 'low' WHERE id = %s",
        "UPDATE opsactions_opsaction SET params_hash = repeat('0', 64) WHERE id = %s",
        "UPDATE opsactions_opsaction SET requested_by_id = requested_by_id + 1 WHERE id = %s",
        "UPDATE opsactions_opsaction SET target = 'merchant:m_else' WHERE id = %s",
        "UPDATE opsactions_opsaction SET required_role = 'pay_admin' WHERE id = %s",
        "UPDATE opsactions_opsaction SET effect_duration = interval '1 day' WHERE id = %s",
        "DELETE FROM opsactions_opsaction WHERE id = %s",
    ],
)
def test_direct_sql_edits_are_refused_by_the_database(crew, sql):
    action = create(crew["ops1"])
    services.action_reject(actor=crew["ops2"], action_id=action.pk, reason="no")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [action.pk])
    action.refresh_from_db()
    assert action.status == ActionStatus.REJECTED and action.params


@pytest.mark.django_db(transaction=True)
def test_params_and_hash_rewritten_together_after_approval_cannot_execute(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"], crew["pay1"])
    forged_params = {"reason_code": "other"}
    forged_hash = services.params_hash_of(
        action_type=action.action_type,
        target="merchant:m_victim",
        params=forged_params,
        reason=action.reason,
        effect_duration=None,
    )
    tamper(
        "opsactions_opsaction",
        "opsactions_action_frozen",
        "UPDATE opsactions_opsaction SET params = %s::jsonb, target = 'merchant:m_victim', "
        "target_id = 'm_victim', params_hash = %s WHERE id = %s",
        ['{"reason_code": "other"}', forged_hash, action.pk],
    )
    assert_refused(
        lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
        Conflict,
        "quorum_not_reached",
    )
    assert not MerchantControl.objects.exists() and not OutboxMessage.objects.exists()


def force_status(action, status):
    """What someone with the application's database credentials can do: status is not frozen."""
    OpsAction.objects.filter(pk=action.pk).update(status=status)


def test_status_forced_to_approved_in_sql_cannot_execute(crew):
    action = create(crew["ops1"])
    force_status(action, ActionStatus.APPROVED)
    assert_refused(
        lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
        Conflict,
        "status_tampered",
    )
    assert not MerchantControl.objects.exists() and not OutboxMessage.objects.exists()


def test_vetoed_action_reopened_in_sql_gets_no_votes_nor_execution(crew):
    action = create(crew["ops1"])
    services.action_reject(actor=crew["ops3"], action_id=action.pk, reason="fraud by requester")
    force_status(action, ActionStatus.PENDING_APPROVAL)
    assert_refused(
        lambda: services.action_approve(actor=crew["ops2"], action_id=action.pk),
        Conflict,
        "status_tampered",
    )
    force_status(action, ActionStatus.APPROVED)
    assert_refused(
        lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
        Conflict,
        "status_tampered",
    )
    assert not MerchantControl.objects.exists() and not OutboxMessage.objects.exists()


def test_vote_inserted_in_sql_does_not_count_towards_the_quorum(crew):
    action = create(crew["ops1"])
    with connection.cursor() as cur:  # INSERT is not blocked: votes are append-only
        cur.execute(
            "INSERT INTO opsactions_opsapproval (action_id, approver_id, approver_role, decision,"
            " comment, params_hash, created_at) VALUES (%s, %s, 'pay_admin', 'approve', '', %s,"
            " now())",
            [action.pk, crew["pay1"].pk, action.params_hash],
        )
    assert_refused(
        lambda: services.action_approve(actor=crew["ops2"], action_id=action.pk),
        Conflict,
        "votes_tampered",
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL


def test_executed_action_reset_in_sql_does_not_execute_twice(crew):
    action = executed(crew)
    force_status(action, ActionStatus.APPROVED)
    assert_refused(
        lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
        Conflict,
        "status_tampered",
    )
    assert OutboxMessage.objects.filter(action=action).count() == 1


def test_rolled_back_action_reset_in_sql_is_not_rolled_back_twice(crew):
    action = executed(crew)
    services.action_rollback(actor=crew["ops3"], action_id=action.pk, reason="undo")
    services.action_rollback(actor=crew["pay1"], action_id=action.pk, reason="agreed")
    force_status(action, ActionStatus.EXECUTED)
    assert_refused(
        lambda: services.action_rollback(actor=crew["ops3"], action_id=action.pk, reason="again"),
        Conflict,
        "status_tampered",
    )
    expired = create(crew["ops1"], {"target": "merchant:m_exp"})
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE opsactions_opsaction SET expires_at = now() - interval '1 s' WHERE id = %s",
            [expired.pk],
        )
    services.actions_expire_pending()
    force_status(expired, ActionStatus.APPROVED)
    assert_refused(
        lambda: services.action_cancel(actor=crew["ops1"], action_id=expired.pk),
        Conflict,
        "status_tampered",
    )
    assert OutboxMessage.objects.filter(action=action).count() == 2


def test_outbox_rows_exist_for_executed_and_rolled_back_actions_only(crew):
    for status in (
        ActionStatus.REJECTED,
        ActionStatus.CANCELLED,
        ActionStatus.EXPIRED,
        ActionStatus.APPROVED,
        ActionStatus.FAILED,
    ):
        terminal(crew, status)
    assert not OutboxMessage.objects.exists()
    done = terminal(crew, ActionStatus.EXECUTED)
    undone = terminal(crew, ActionStatus.ROLLED_BACK)
    phases = sorted(OutboxMessage.objects.values_list("action_id", "phase"))
    assert phases == sorted([(done.pk, "execute"), (undone.pk, "execute"), (undone.pk, "rollback")])
