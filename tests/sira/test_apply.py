"""Apply and reject: apply requests an ops action in the applier's name and never executes
it without its quorum, whoever tries; the recommendation follows its action."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from opsactions import services as ops
from opsactions.choices import ActionStatus
from opsactions.models import OpsAction
from sira import services
from sira.choices import RecStatus
from tests.factories import make_user

URL = "/api/dashboard/sira/recommendations"
pytestmark = pytest.mark.django_db


def _apply(client, rec):
    return client.post(f"{URL}/{rec.pk}/apply", format="json")


def test_apply_requests_the_action_in_the_appliers_name(client_for, ops_admin, make_rec):
    rec = make_rec()
    resp = _apply(client_for(ops_admin), rec)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "pending_approval" and body["requested_by"] == "ops_admin"
    action = OpsAction.objects.get(pk=body["id"])
    assert action.action_type == "SET_HOLD" and action.target == "merchant:m_1042"
    assert action.params == {"kind": "percent", "percent": "20", "days": 7}
    assert f"SIRA recommendation #{rec.pk}" in action.reason and rec.external_id in action.reason
    rec.refresh_from_db()
    assert rec.ops_action_id == action.pk and rec.status == RecStatus.NEW
    assert rec.audit.filter(event="apply_requested", actor=ops_admin).exists()
    # A second apply while the action is open is refused.
    assert _apply(client_for(ops_admin), rec).status_code == 409


def test_sira_service_cannot_apply_or_approve(client_for, sira_service, ops_admin, make_rec):
    rec = make_rec()
    assert _apply(client_for(sira_service), rec).status_code == 403
    assert not OpsAction.objects.exists()
    action = services.recommendation_apply(actor=ops_admin, rec_id=rec.pk)
    client = client_for(sira_service)
    assert client.post(f"/api/dashboard/ops/actions/{action.pk}/approve").status_code == 403
    assert client.post(f"/api/dashboard/ops/actions/{action.pk}/execute").status_code == 403
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL


def test_superuser_applier_cannot_approve_or_execute_alone(client_for, make_rec):
    boss = make_user("boss", Role.OPS_ADMIN)
    boss.is_superuser = True
    boss.save(update_fields=["is_superuser"])
    rec = make_rec()
    client = client_for(boss)
    resp = _apply(client, rec)
    assert resp.status_code == 201
    action_id = resp.json()["id"]
    approve = client.post(f"/api/dashboard/ops/actions/{action_id}/approve", format="json")
    assert approve.status_code == 403 and approve.json()["code"] == "self_approval"
    execute = client.post(f"/api/dashboard/ops/actions/{action_id}/execute", format="json")
    assert execute.status_code == 409
    assert OpsAction.objects.get(pk=action_id).status == ActionStatus.PENDING_APPROVAL


def test_applier_who_is_an_approver_cannot_carry_the_quorum(
    client_for, ops_admin, approver_b, make_rec
):
    """ops_admin may approve SET_HOLD, but not the action they requested by applying; one
    other approval of a medium-risk action (quorum 2) does not let it execute."""
    rec = make_rec()
    action_id = _apply(client_for(ops_admin), rec).json()["id"]
    mine = client_for(ops_admin).post(f"/api/dashboard/ops/actions/{action_id}/approve")
    assert mine.status_code == 403
    assert (
        client_for(approver_b).post(f"/api/dashboard/ops/actions/{action_id}/approve").status_code
        == 200
    )
    for who in (ops_admin, approver_b):
        assert (
            client_for(who).post(f"/api/dashboard/ops/actions/{action_id}/execute").status_code
            == 409
        )
    assert OpsAction.objects.get(pk=action_id).status == ActionStatus.PENDING_APPROVAL
    rec.refresh_from_db()
    assert rec.status == RecStatus.NEW


def test_status_follows_the_action_to_applied(
    ops_admin, approver_b, pay_admin, make_rec, django_capture_on_commit_callbacks
):
    rec = make_rec()
    with django_capture_on_commit_callbacks(execute=True):
        action = services.recommendation_apply(actor=ops_admin, rec_id=rec.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ops.action_approve(actor=approver_b, action_id=action.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ops.action_approve(actor=pay_admin, action_id=action.pk)
    rec.refresh_from_db()
    assert rec.status == RecStatus.NEW
    with django_capture_on_commit_callbacks(execute=True):
        ops.action_execute(actor=approver_b, action_id=action.pk)
    rec.refresh_from_db()
    assert rec.status == RecStatus.APPLIED and rec.decided_by_id == ops_admin.pk
    assert rec.audit.filter(event="applied").exists()


@pytest.mark.parametrize("how", ["reject", "cancel", "expire"])
def test_status_back_to_new_when_the_action_closes_without_effect(
    ops_admin, approver_b, make_rec, django_capture_on_commit_callbacks, how
):
    rec = make_rec()
    action = services.recommendation_apply(actor=ops_admin, rec_id=rec.pk)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "reject":
            ops.action_reject(actor=approver_b, action_id=action.pk, reason="not now")
        elif how == "cancel":
            ops.action_cancel(actor=ops_admin, action_id=action.pk, reason="changed my mind")
        else:
            past = timezone.now() - timedelta(minutes=1)
            OpsAction.objects.filter(pk=action.pk).update(expires_at=past)
            assert ops.actions_expire_pending() == 1
    rec.refresh_from_db()
    assert rec.status == RecStatus.NEW
    assert rec.audit.filter(event="reopened").exists()
    # Open again: it can be applied a second time (a new action).
    again = services.recommendation_apply(actor=ops_admin, rec_id=rec.pk)
    assert again.pk != action.pk


def test_reject_needs_a_reason_and_a_right(client_for, ops_admin, finance_ops, make_rec):
    rec = make_rec()
    url = f"{URL}/{rec.pk}/reject"
    assert client_for(ops_admin).post(url, {}, format="json").status_code == 400
    assert client_for(finance_ops).post(url, {"reason": "no"}, format="json").status_code == 403
    resp = client_for(ops_admin).post(url, {"reason": "false positive"}, format="json")
    assert resp.status_code == 200 and resp.json()["status"] == "rejected"
    assert client_for(ops_admin).post(url, {"reason": "x"}, format="json").status_code == 409
    assert _apply(client_for(ops_admin), rec).status_code == 409


def test_expiry_by_beat(make_rec, ops_admin):
    past = make_rec()
    pending = make_rec(target="merchant:m_2")
    services.recommendation_apply(actor=ops_admin, rec_id=pending.pk)
    later = timezone.now() + timedelta(days=2)
    assert services.recommendations_expire(now=later) == 1
    past.refresh_from_db()
    pending.refresh_from_db()
    assert past.status == RecStatus.EXPIRED
    assert pending.status == RecStatus.NEW  # its ops action carries it


def test_list_filters_and_role_rules(
    client_for, ops_admin, region_sn, merchant_admin_m1, agent_user, make_rec
):
    make_rec()
    sn = make_rec(
        type="route_payout",
        target="region:SN",
        priority="high",
        action={"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_2"}},
        model={"name": "baseline", "version": "1"},
    )
    staff = client_for(ops_admin)
    assert len(staff.get(URL).json()["results"]) == 2
    for query in ("type=route_payout", "priority=high", "target=region:SN", "model=baseline"):
        rows = staff.get(f"{URL}?{query}").json()["results"]
        assert [r["id"] for r in rows] == [sn.pk], query
    assert staff.get(f"{URL}?status=bogus").status_code == 400
    assert staff.get(f"{URL}?target=nope:").status_code == 400
    region = client_for(region_sn)
    assert [r["id"] for r in region.get(URL).json()["results"]] == [sn.pk]
    others = sn.pk - 1
    assert region.get(f"{URL}/{others}").status_code == 404
    assert region.get(f"{URL}/{others}/impact").status_code == 404
    assert region.post(f"{URL}/{others}/apply").status_code == 404
    for who in (merchant_admin_m1, agent_user):
        assert client_for(who).get(URL).status_code == 403
        assert client_for(who).get(f"{URL}/{sn.pk}").status_code == 403


def test_acceptance_rate_per_model(client_for, ops_admin, make_rec):
    a = make_rec()
    make_rec(target="merchant:m_2")
    b = make_rec(target="merchant:m_3", model={"name": "sira-risk", "version": "2026.12.1"})
    services.recommendation_reject(actor=ops_admin, rec_id=a.pk, reason="no")
    services.recommendation_reject(actor=ops_admin, rec_id=b.pk, reason="no")
    rows = client_for(ops_admin).get("/api/dashboard/sira/models").json()
    by = {(r["name"], r["version"]): r for r in rows}
    assert by[("sira-risk", "2026.11.3")]["counts"]["new"] == 1
    assert by[("sira-risk", "2026.11.3")]["acceptance_rate"] == 0.0
    assert by[("sira-risk", "2026.12.1")]["decided"] == 1
