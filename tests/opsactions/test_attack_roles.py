"""Who may do what: every account without the right role, scope or permission tries every
endpoint and service of the maker-checker flow (API with JWTs, services directly); nothing
may succeed.
"""

import pytest

from accounts.choices import Role
from common.errors import NotAllowed
from opsactions import services
from opsactions.choices import ActionStatus, AuditEvent
from opsactions.models import (
    OpsAction,
)
from tests.factories import make_user
from tests.opsactions.adversary import (
    FREEZE,
    URL,
    approve_all,
    assert_refused,
    create,
    events,
    snapshot,
)

pytestmark = pytest.mark.django_db


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
