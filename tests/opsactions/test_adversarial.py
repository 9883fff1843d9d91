"""Adversarial review of the maker-checker flow: every role tries to bypass it through the
API (JWT), the Django admin (session) and the database itself. Nothing may succeed, and
the action's state and its audit rows must tell exactly what happened.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.choices import Role
from common import dbroles
from common.errors import Conflict, NotAllowed, ValidationFailed
from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, AuditEvent, RiskLevel
from opsactions.models import (
    AuditEntry,
    MerchantControl,
    OpsAction,
    OpsApproval,
    OutboxMessage,
    PayoutControl,
    TransactionReversal,
)
from tests.factories import make_user
from tests.race import race

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/ops/actions"
ADMIN = "/admin/opsactions/opsaction/"
FREEZE = {
    "action_type": "FREEZE_MERCHANT",
    "target": "merchant:m_adv",
    "params": {"reason_code": "fraud_suspected"},
    "reason": "chargeback spike",
}


# ------------------------------------------------------------------ helpers and users


@pytest.fixture
def crew(db):
    """Enough distinct staff for every quorum, plus the odd accounts an attacker would use."""
    from accounts.models import User

    users = {
        "ops1": make_user("adv_ops1", Role.OPS_ADMIN),
        "ops2": make_user("adv_ops2", Role.OPS_ADMIN),
        "ops3": make_user("adv_ops3", Role.OPS_ADMIN),
        "pay1": make_user("adv_pay1", Role.PAY_ADMIN),
        "pay2": make_user("adv_pay2", Role.PAY_ADMIN),
        "fin1": make_user("adv_fin1", Role.FINANCE_OPS),
        "fin2": make_user("adv_fin2", Role.FINANCE_OPS),
        "merchant": make_user("adv_merchant", Role.MERCHANT_ADMIN, "merchant:m_adv"),
        "agent": make_user("adv_agent", Role.AGENT, "agent:a_adv"),
        "sira": make_user("adv_sira", Role.SIRA_SERVICE),
        "region_sn": make_user("adv_region_sn", Role.OPS_ADMIN, "region:SN"),
        "region_gh": make_user("adv_region_gh", Role.OPS_ADMIN, "region:GH"),
        "bank_fin": make_user("adv_bank_fin", Role.FINANCE_OPS, "bank:b_1"),
        "roleless": User.objects.create_user("adv_roleless", password="pw-test-1234"),
        "root": User.objects.create_superuser("adv_root", password="pw-test-1234"),
    }
    super_ops = make_user("adv_super_ops", Role.OPS_ADMIN)
    super_ops.is_superuser = True
    super_ops.save(update_fields=["is_superuser"])
    users["super_ops"] = super_ops
    # Tenants and machines made staff by mistake must still get no console.
    for name in ("merchant", "agent", "sira", "roleless"):
        users[name].is_staff = True
        users[name].save(update_fields=["is_staff"])
    return users


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


# ------------------------------------------------------------------ roles on every endpoint

# A superuser without a role ("root") sees every action but may do nothing: it acts as its
# role, and has none.
NO_ROLE = ["merchant", "agent", "roleless", "root"]


@pytest.mark.parametrize("who", NO_ROLE)
def test_accounts_without_an_ops_role_get_403_on_every_endpoint(crew, client_for, who):
    action = create(crew["ops1"])
    before = snapshot(action)
    client = client_for(crew[who])
    read = 200 if who == "root" else 403
    assert client.get(URL).status_code == read
    assert client.get(f"{URL}/{action.pk}").status_code == read
    assert client.post(URL, FREEZE, format="json").status_code == 403
    for verb, body in [
        ("approve", {}),
        ("reject", {"reason": "x"}),
        ("execute", {}),
        ("cancel", {}),
        ("rollback", {"reason": "x"}),
    ]:
        response = client.post(f"{URL}/{action.pk}/{verb}", body, format="json")
        assert response.status_code == 403, (who, verb, response.json())
        assert set(response.json()) >= {"detail", "code"}
    assert snapshot(action) == before


@pytest.mark.parametrize("who", NO_ROLE)
def test_accounts_without_an_ops_role_are_refused_by_the_services(crew, who):
    action = create(crew["ops1"])
    user = crew[who]
    assert_refused(
        lambda: create(user, {"target": "merchant:m_other"}), NotAllowed, "role_not_eligible"
    )
    assert_refused(
        lambda: services.action_approve(actor=user, action_id=action.pk),
        NotAllowed,
        "role_not_eligible",
    )
    assert_refused(
        lambda: services.action_reject(actor=user, action_id=action.pk, reason="x"),
        NotAllowed,
        "role_not_eligible",
    )


def test_bank_scoped_finance_ops_sees_nothing_and_may_not_act(crew, client_for):
    action = create(
        crew["ops1"],
        {"action_type": "SET_HOLD", "params": {"kind": "percent", "percent": "10", "days": 3}},
    )
    client = client_for(crew["bank_fin"])
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}/{action.pk}").status_code == 404
    assert client.post(f"{URL}/{action.pk}/approve", {}).status_code == 404
    assert_refused(
        lambda: services.action_approve(actor=crew["bank_fin"], action_id=action.pk),
        NotAllowed,
        "target_out_of_scope",
    )
    response = client.post(
        URL,
        {
            **FREEZE,
            "action_type": "FORCE_RECONCILIATION",
            "target": "bank:b_1",
            "params": {"date": "2024-01-01"},
        },
        format="json",
    )
    assert response.status_code == 403 and response.json()["code"] == "target_out_of_scope"


def test_sira_requests_tightening_only_and_never_votes_or_executes(crew, client_for):
    client = client_for(crew["sira"])
    created = client.post(URL, FREEZE, format="json")
    assert created.status_code == 201, created.json()
    action_id = created.json()["id"]
    for body in [
        {"action_type": "UNFREEZE_MERCHANT", "params": {}, "target": "merchant:m_x"},
        {"action_type": "RESUME_PAYOUT", "params": {}, "target": "platform"},
        {"action_type": "RELEASE_HOLD", "params": {}, "target": "merchant:m_x"},
        {
            "action_type": "REVERSE_TRANSACTION",
            "target": "merchant:m_x",
            "params": {"transaction_id": "t1", "amount": "10", "currency": "XOF", "reason": "x"},
        },
    ]:
        response = client.post(URL, {**FREEZE, **body}, format="json")
        assert response.status_code == 403, body
    other = create(crew["ops1"], {"target": "merchant:m_sira2"})
    assert client.post(f"{URL}/{other.pk}/approve", {}).status_code == 403
    approve_all(other, crew["ops2"], crew["pay1"])
    assert client.post(f"{URL}/{other.pk}/execute").status_code == 403
    assert client.post(f"{URL}/{action_id}/cancel").json()["status"] == "cancelled"


def test_finance_ops_cannot_vote_on_freezes_nor_execute(crew):
    action = create(crew["ops1"])
    assert_refused(
        lambda: services.action_approve(actor=crew["fin1"], action_id=action.pk),
        NotAllowed,
        "role_not_eligible",
    )
    # ...nor veto what they may not approve.
    assert_refused(
        lambda: services.action_reject(actor=crew["fin1"], action_id=action.pk, reason="no"),
        NotAllowed,
        "role_not_eligible",
    )
    approve_all(action, crew["ops2"], crew["pay1"])
    assert_refused(
        lambda: services.action_execute(actor=crew["fin1"], action_id=action.pk),
        NotAllowed,
        "role_not_eligible",
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED


def test_region_staff_cannot_reach_other_countries_or_unknown_targets(crew, client_for):
    client = client_for(crew["region_sn"])
    for target in ("platform", "merchant:m_adv", "bank:b_1", "region:GH"):
        body = {**FREEZE, "action_type": "PAUSE_PAYOUT", "target": target, "params": {}}
        response = client.post(URL, body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "target_out_of_scope"
    gh = create(
        crew["region_gh"], {"action_type": "PAUSE_PAYOUT", "target": "region:GH", "params": {}}
    )
    assert client.get(f"{URL}/{gh.pk}").status_code == 404
    assert client.post(f"{URL}/{gh.pk}/approve", {}).status_code == 404
    assert client.post(f"{URL}/{gh.pk}/reject", {"reason": "x"}).status_code == 404
    assert_refused(
        lambda: services.action_reject(actor=crew["region_sn"], action_id=gh.pk, reason="veto"),
        NotAllowed,
        "target_out_of_scope",
    )
    gh.refresh_from_db()
    assert gh.status == ActionStatus.PENDING_APPROVAL and gh.approvals.count() == 0


# ------------------------------------------------------------------ self-approval


@pytest.mark.parametrize("who", ["ops1", "super_ops"])
def test_requester_never_votes_on_own_action_over_the_api(crew, client_for, who):
    client = client_for(crew[who])
    action_id = client.post(URL, FREEZE, format="json").json()["id"]
    for verb, body in [("approve", {}), ("reject", {"reason": "changed my mind"})]:
        response = client.post(f"{URL}/{action_id}/{verb}", body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "self_approval"
    action = OpsAction.objects.get(pk=action_id)
    assert action.status == ActionStatus.PENDING_APPROVAL and action.approvals.count() == 0
    assert events(action) == [AuditEvent.REQUESTED]


def test_requester_never_votes_in_the_admin_bulk_or_per_object(crew):
    action = create(crew["super_ops"])
    client = session(crew["super_ops"])
    page = client.post(
        ADMIN,
        {"action": "approve_selected", "_selected_action": [action.pk], "confirm": "yes"},
        follow=True,
    )
    assert "self_approval" in page.content.decode()
    client.post(f"{ADMIN}{action.pk}/transition/approve/", {"confirm": "yes", "comment": "me"})
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL and action.approvals.count() == 0


@pytest.mark.parametrize("who", ["super_ops", "root"])
def test_admin_change_form_cannot_edit_status_params_or_quorum(crew, who):
    action = approve_all(create(crew["ops1"]), crew["ops2"])
    before = snapshot(action)
    client = session(crew[who])
    forged = {
        "status": ActionStatus.APPROVED,
        "params": '{"reason_code": "other"}',
        "params_hash": "0" * 64,
        "required_approvals": "1",
        "risk_level": RiskLevel.LOW,
        "target": "merchant:m_other",
        "requested_by": crew["ops2"].pk,
        "_save": "Save",
    }
    assert client.post(f"{ADMIN}{action.pk}/change/", forged).status_code == 403
    assert (
        client.post(f"{ADMIN}add/", {**forged, "action_type": "FREEZE_MERCHANT"}).status_code == 403
    )
    assert client.post(f"{ADMIN}{action.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        ADMIN, {"action": "delete_selected", "_selected_action": [action.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302, 403)
    assert snapshot(action) == before


def test_admin_transitions_need_a_csrf_token(crew):
    action = create(crew["ops1"])
    client = session(crew["ops2"], enforce_csrf_checks=True)
    response = client.post(f"{ADMIN}{action.pk}/transition/approve/", {"confirm": "yes"})
    assert response.status_code == 403
    response = client.post(
        ADMIN, {"action": "approve_selected", "_selected_action": [action.pk], "confirm": "yes"}
    )
    assert response.status_code == 403
    assert action.approvals.count() == 0


def test_admin_get_never_acts(crew):
    action = create(crew["ops1"])
    client = session(crew["ops2"])
    for verb in ("approve", "reject", "execute", "cancel", "rollback"):
        client.get(f"{ADMIN}{action.pk}/transition/{verb}/?confirm=yes&comment=x")
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL and action.approvals.count() == 0


def test_tenants_made_staff_get_no_admin_console_nor_transitions(crew):
    action = create(crew["ops1"])
    for who in ("merchant", "agent", "roleless"):
        client = session(crew[who])
        assert client.get(ADMIN).status_code == 403, who
        assert client.get(f"{ADMIN}{action.pk}/change/").status_code in (302, 403), who
        client.post(f"{ADMIN}{action.pk}/transition/approve/", {"confirm": "yes"})
        for model in ("auditentry", "outboxmessage", "payoutcontrol", "merchantcontrol"):
            assert client.get(f"/admin/opsactions/{model}/").status_code == 403, (who, model)
    assert action.approvals.count() == 0


def test_superuser_without_a_role_sees_everything_in_the_admin_but_may_not_act(crew):
    action = create(crew["ops1"])
    client = session(crew["root"])
    assert client.get(ADMIN).status_code == 200
    detail = client.get(f"{ADMIN}{action.pk}/change/").content.decode()
    assert "fraud_suspected" in detail and "transition/approve/" not in detail
    for model in ("auditentry", "outboxmessage", "payoutcontrol", "merchantcontrol"):
        assert client.get(f"/admin/opsactions/{model}/").status_code == 200, model
    page = client.post(
        f"{ADMIN}{action.pk}/transition/approve/", {"confirm": "yes"}, follow=True
    ).content.decode()
    assert "role_not_eligible" in page
    action.refresh_from_db()
    assert action.approvals.count() == 0 and action.status == ActionStatus.PENDING_APPROVAL


def test_region_staff_admin_shows_only_their_country(crew):
    pause = {"action_type": "PAUSE_PAYOUT", "params": {}}
    gh = create(crew["region_gh"], {**pause, "target": "region:GH"})
    approve_all(gh, crew["ops1"], crew["ops2"], crew["pay1"])
    services.action_execute(actor=crew["pay2"], action_id=gh.pk)
    sn = create(crew["region_sn"], {**pause, "target": "region:SN"})
    client = session(crew["region_sn"])
    assert client.get(f"{ADMIN}{gh.pk}/change/").status_code in (302, 404)
    assert "region:GH" not in client.get(ADMIN).content.decode()
    # Nor the audit trail, commands or control rows of another country's action.
    audit = client.get("/admin/opsactions/auditentry/").content.decode()
    assert "adv_region_sn" in audit and "adv_region_gh" not in audit and "adv_pay2" not in audit
    assert client.get(f"/admin/opsactions/auditentry/?q={gh.pk}").status_code == 200
    outbox = client.get("/admin/opsactions/outboxmessage/").content.decode()
    assert "0 outbox messages" in outbox
    controls = client.get("/admin/opsactions/payoutcontrol/").content.decode()
    assert "region:GH" not in controls
    # Platform staff still see everything.
    audit = session(crew["ops3"]).get("/admin/opsactions/auditentry/").content.decode()
    assert "adv_region_gh" in audit and "adv_region_sn" in audit
    assert sn.pk


def test_admin_renders_hostile_text_escaped(crew):
    action = create(crew["ops1"], {"reason": "<script>alert(1)</script>"})
    services.action_approve(
        actor=crew["ops2"], action_id=action.pk, comment="<img src=x onerror=1>"
    )
    page = session(crew["pay1"]).get(f"{ADMIN}{action.pk}/change/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page


def test_admin_audit_search_with_text_is_not_a_500(crew):
    create(crew["ops1"])
    response = session(crew["ops2"]).get("/admin/opsactions/auditentry/?q=abc")
    assert response.status_code == 200


# ------------------------------------------------------------------ double votes and late votes


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


# ------------------------------------------------------------------ expires_after abuse


@pytest.mark.parametrize(
    "value",
    [
        "-PT6H",
        "PT0S",
        "P0D",
        "PT0.0000001S",
        "P99999999999D",
        "P999999999D",
        "PT99999999999999999999H",
        "P1Y",
        "P1W",
        "6h",
        "21600",
        "P",
        "PT",
        "PT1.5S",
    ],
)
def test_bad_expires_after_is_400_never_500(crew, client_for, value):
    response = client_for(crew["ops1"]).post(URL, {**FREEZE, "expires_after": value}, format="json")
    assert response.status_code == 400, (value, response.status_code)
    assert "expires_after" in response.json()["errors"]
    assert not OpsAction.objects.exists()


def test_expires_after_as_a_number_is_400(crew, client_for):
    response = client_for(crew["ops1"]).post(URL, {**FREEZE, "expires_after": 5}, format="json")
    assert response.status_code == 400


def test_effect_duration_is_bound_to_the_hash_exactly(crew):
    # The hash carries whole seconds, so a fraction (an unapproved difference) is refused.
    assert_refused(
        lambda: create(crew["ops1"], {"target": "merchant:m_h1"}, expires_after="PT1.5S"),
        ValidationFailed,
        "invalid",
    )
    one = create(crew["ops1"], {"target": "merchant:m_h1"}, expires_after="PT6H")
    assert one.effect_duration.total_seconds() == 6 * 3600


# ------------------------------------------------------------------ risk cannot be talked down


@pytest.mark.parametrize(
    "target,params,risk",
    [
        (
            "merchant:m_r",
            {"transaction_id": "t1", "amount": "1000000", "currency": "XOF"},
            "medium",
        ),
        (
            "merchant:m_r",
            {"transaction_id": "t1", "amount": "1000000.0001", "currency": "XOF"},
            "high",
        ),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "1E+7", "currency": "XOF"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "2000", "currency": "EUR"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "2000", "currency": "USD"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "5", "currency": "ZZZ"}, "high"),
        ("platform", {"transaction_id": "t1", "amount": "1000001", "currency": "XAF"}, "high"),
    ],
)
def test_reversal_risk_follows_amount_per_currency(crew, target, params, risk):
    action = create(
        crew["fin1"],
        {
            "action_type": "REVERSE_TRANSACTION",
            "target": target,
            "params": {**params, "reason": "duplicate"},
        },
    )
    assert action.risk_level == risk
    assert action.required_approvals == {"medium": 2, "high": 3}[risk]
    assert action.required_role == ("finance_ops" if risk == "high" else "")


def test_lowercase_or_float_amounts_cannot_dodge_the_threshold(crew, client_for):
    client = client_for(crew["fin1"])
    for params in [
        {"amount": "2000", "currency": "eur"},
        {"amount": 2000000.0, "currency": "XOF"},
        {"amount": "NaN", "currency": "XOF"},
        {"amount": "-5", "currency": "XOF"},
    ]:
        body = {
            **FREEZE,
            "action_type": "REVERSE_TRANSACTION",
            "params": {"transaction_id": "t1", "reason": "x", **params},
        }
        assert client.post(URL, body, format="json").status_code == 400, params


@pytest.mark.parametrize(
    "action_type,target,risk",
    [
        ("PAUSE_PAYOUT", "platform", "critical"),
        ("PAUSE_PAYOUT", " platform ", "critical"),
        ("PAUSE_PAYOUT", "region:SN", "high"),
        ("PAUSE_PAYOUT", "bank:b_1", "high"),
        ("PAUSE_PAYOUT", "merchant:m_1", "medium"),
        ("RESUME_PAYOUT", "platform", "critical"),
        ("RESUME_PAYOUT", "region:SN", "high"),
    ],
)
def test_payout_blast_radius_sets_the_quorum(crew, action_type, target, risk):
    action = create(crew["ops1"], {"action_type": action_type, "target": target, "params": {}})
    assert action.risk_level == risk
    assert action.required_approvals == {"medium": 2, "high": 3, "critical": 4}[risk]


def test_critical_action_needs_four_others_including_ops_admin(crew):
    action = create(
        crew["pay1"], {"action_type": "PAUSE_PAYOUT", "target": "platform", "params": {}}
    )
    approve_all(action, crew["pay2"], crew["fin1"], crew["fin2"])
    assert action.status == ActionStatus.PENDING_APPROVAL  # four votes, no ops_admin
    assert_refused(
        lambda: services.action_execute(actor=crew["ops1"], action_id=action.pk),
        Conflict,
        "action_pending_approval",
    )
    approve_all(action, crew["ops2"])
    assert action.status == ActionStatus.APPROVED
    services.action_execute(actor=crew["pay1"], action_id=action.pk)
    assert PayoutControl.objects.get(scope="platform").paused


@pytest.mark.parametrize(
    "params,risk",
    [
        ({"kind": "percent", "percent": "50", "days": 30}, "medium"),
        ({"kind": "percent", "percent": "50.01", "days": 30}, "high"),
        ({"kind": "percent", "percent": "10", "days": 31}, "high"),
        ({"kind": "amount", "amount": "500000", "currency": "XOF", "days": 3}, "medium"),
        ({"kind": "amount", "amount": "99999999999", "currency": "XOF", "days": 3}, "high"),
        ({"kind": "amount", "amount": "100000", "currency": "EUR", "days": 3}, "high"),
        ({"kind": "amount", "amount": "10", "currency": "ZZZ", "days": 3}, "high"),
    ],
)
def test_hold_risk_rises_with_its_size(crew, params, risk):
    action = create(crew["ops1"], {"action_type": "SET_HOLD", "params": params})
    assert action.risk_level == risk


def test_split_requests_cannot_run_side_by_side(crew):
    create(crew["ops1"], {"action_type": "PAUSE_PAYOUT", "target": "platform", "params": {}})
    assert_refused(
        lambda: create(
            crew["pay1"],
            {
                "action_type": "PAUSE_PAYOUT",
                "target": "platform",
                "params": {"reason_code": "other"},
            },
        ),
        Conflict,
        "open_action_exists",
    )
    body = {
        "action_type": "REVERSE_TRANSACTION",
        "params": {"transaction_id": "t9", "amount": "10", "currency": "XOF", "reason": "x"},
    }
    create(crew["fin1"], body)
    assert_refused(lambda: create(crew["fin2"], body), Conflict, "open_action_exists")


# ------------------------------------------------------------------ the audit trail tells all


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


# ------------------------------------------------------------------ races on the real database


@pytest.mark.django_db(transaction=True)
def test_racing_veto_and_final_approval_leave_one_consistent_outcome(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"])
    results = race(
        [
            lambda: services.action_approve(actor=crew["pay1"], action_id=action.pk),
            lambda: services.action_reject(actor=crew["pay2"], action_id=action.pk, reason="veto"),
            lambda: services.action_cancel(actor=crew["ops1"], action_id=action.pk),
        ]
    )
    action.refresh_from_db()
    trail = events(action)
    # The veto and the quorum exclude each other; a cancel may follow either but a veto.
    assert not (AuditEvent.APPROVED in trail and AuditEvent.REJECTED in trail), results
    assert action.status in (ActionStatus.APPROVED, ActionStatus.REJECTED, ActionStatus.CANCELLED)
    last = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert last.after["status"] == action.status
    assert trail.count(AuditEvent.APPROVAL) == action.approvals.count()
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_racing_execute_cancel_and_rollback_run_the_effect_at_most_once(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"], crew["pay1"])
    results = race(
        [
            lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
            lambda: services.action_execute(actor=crew["ops3"], action_id=action.pk),
            lambda: services.action_cancel(actor=crew["ops1"], action_id=action.pk),
            lambda: services.action_rollback(actor=crew["ops2"], action_id=action.pk, reason="r"),
        ]
    )
    action.refresh_from_db()
    execute_wins = [r for r in results[:2] if not isinstance(r, Exception)]
    assert len(execute_wins) <= 1
    outbox = OutboxMessage.objects.filter(action=action, phase="execute").count()
    if action.status == ActionStatus.CANCELLED:
        assert not execute_wins and outbox == 0 and not MerchantControl.objects.exists()
    else:
        assert outbox == 1 and events(action).count(AuditEvent.EXECUTED) == 1
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_racing_last_vote_and_expiry_task(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"])
    with connection.cursor() as cur:
        cur.execute("UPDATE opsactions_opsaction SET expires_at = now() WHERE id = %s", [action.pk])
    results = race(
        [
            lambda: services.action_approve(actor=crew["pay1"], action_id=action.pk),
            lambda: services.actions_expire_pending(),
        ]
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED, results
    assert events(action).count(AuditEvent.EXPIRED) == 1
    assert action.approvals.count() == 1


# ------------------------------------------------------------------ stale tokens, verbs, bodies


def test_stale_tokens_carry_no_old_rights(crew, client_for):
    action = create(crew["ops1"])
    deactivated = client_for(crew["ops2"])
    demoted = client_for(crew["pay1"])
    crew["ops2"].is_active = False
    crew["ops2"].save(update_fields=["is_active"])
    assert deactivated.post(f"{URL}/{action.pk}/approve", {}).status_code == 401
    make_user("adv_pay1", Role.MERCHANT_ADMIN, "merchant:m_adv")  # same account, new role
    response = demoted.post(f"{URL}/{action.pk}/approve", {})
    assert response.status_code == 403
    assert action.approvals.count() == 0


def test_no_write_verbs_besides_the_transitions(crew, client_for):
    action = create(crew["ops1"])
    client = client_for(crew["super_ops"])
    body = {"status": "approved", "required_approvals": 1}
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{URL}/{action.pk}", body, format="json").status_code == 405
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL and action.required_approvals == 2


def test_extra_fields_cannot_impersonate_or_force_a_decision(crew, client_for):
    action = create(crew["ops1"])
    body = {"approver": crew["pay1"].pk, "decision": "approve", "approver_role": "finance_ops"}
    response = client_for(crew["ops2"]).post(f"{URL}/{action.pk}/reject", {**body, "reason": "n"})
    assert response.json()["status"] == "rejected"
    vote = action.approvals.get()
    assert (vote.approver, vote.approver_role, vote.decision) == (
        crew["ops2"],
        "ops_admin",
        "reject",
    )


def test_region_staff_cannot_transition_another_countrys_action_in_the_admin(crew):
    gh = create(
        crew["region_gh"], {"action_type": "PAUSE_PAYOUT", "target": "region:GH", "params": {}}
    )
    client = session(crew["region_sn"])
    url = f"{ADMIN}{gh.pk}/transition/reject/"
    assert client.post(url, {"confirm": "yes", "comment": "veto"}).status_code == 404
    client.post(
        ADMIN,
        {
            "action": "reject_selected",
            "_selected_action": [gh.pk],
            "confirm": "yes",
            "comment": "v",
        },
    )
    gh.refresh_from_db()
    assert gh.status == ActionStatus.PENDING_APPROVAL and gh.approvals.count() == 0


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
