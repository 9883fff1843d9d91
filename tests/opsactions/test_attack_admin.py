"""The Django admin ops console under attack: self-votes, edits of frozen fields, CSRF, GETs
that act, tenants made staff, superusers without a role, region staff, hostile text.
"""

import pytest

from opsactions import services
from opsactions.choices import ActionStatus, RiskLevel
from tests.opsactions.adversary import (
    ADMIN,
    approve_all,
    create,
    session,
    snapshot,
)

pytestmark = pytest.mark.django_db


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
