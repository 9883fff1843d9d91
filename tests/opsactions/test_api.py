"""The HTTP face of ops actions: shapes, status codes and the error shape."""

import pytest

from opsactions.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/ops/actions"
FREEZE = {
    "action_type": "FREEZE_MERCHANT",
    "target": "merchant:m_1042",
    "params": {"reason_code": "fraud_suspected"},
    "reason": "chargeback spike",
    "expires_after": "PT6H",
}


def create(client, body=FREEZE, **headers):
    return client.post(URL, body, format="json", **headers)


def test_create_returns_the_contract_shape(client_for, ops_admin):
    response = create(client_for(ops_admin), HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 201, response.json()
    body = response.json()
    for key in (
        "id",
        "action_type",
        "target",
        "params",
        "params_hash",
        "risk_level",
        "required_approvals",
        "approvals",
        "status",
        "requested_by",
        "created_at",
        "expires_at",
        "audit",
    ):
        assert key in body
    assert body["status"] == "pending_approval"
    assert body["requested_by"] == "ops_admin"
    assert body["expires_after"] == 6 * 3600
    assert [a["event"] for a in body["audit"]] == ["requested"]
    entry = AuditEntry.objects.filter(action_id=body["id"]).first()
    assert (entry.request_id, entry.client_ip, entry.actor_role) == (
        "req-123",
        "10.1.2.3",
        "ops_admin",
    )


def test_request_id_generated_when_absent_or_malformed(client_for, ops_admin):
    body = create(client_for(ops_admin), HTTP_X_REQUEST_ID="bad id\n").json()
    entry = AuditEntry.objects.filter(action_id=body["id"]).first()
    assert len(entry.request_id) == 32


@pytest.mark.parametrize(
    "change,field",
    [
        ({"action_type": "NOPE"}, "action_type"),
        ({"target": "galaxy:1"}, "target"),
        ({"params": {"reason_code": "bogus"}}, "params.reason_code"),
        ({"reason": ""}, "reason"),
        ({"expires_after": "six hours"}, "expires_after"),
        ({"expires_after": "-PT1H"}, "expires_after"),
    ],
)
def test_bad_input_is_400_with_field_errors(client_for, ops_admin, change, field):
    response = create(client_for(ops_admin), {**FREEZE, **change})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["detail"] and field in body["errors"]


def test_non_object_body_is_400(client_for, ops_admin):
    response = client_for(ops_admin).post(URL, "[1]", content_type="application/json")
    assert response.status_code == 400


def test_duplicate_open_action_is_409(client_for, ops_admin, approver_b):
    assert create(client_for(ops_admin)).status_code == 201
    response = create(client_for(approver_b))
    assert response.status_code == 409
    assert response.json()["code"] == "open_action_exists"


@pytest.mark.parametrize("fixture", ["merchant_admin_m1", "agent_user", "outsider"])
def test_tenants_get_403_everywhere(fixture, request, client_for, ops_admin):
    action_id = create(client_for(ops_admin)).json()["id"]
    client = client_for(request.getfixturevalue(fixture))
    assert create(client).status_code == 403
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{action_id}").status_code == 403
    assert client.post(f"{URL}/{action_id}/approve", {}, format="json").status_code == 403


def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_full_workflow_over_http(client_for, ops_admin, approver_b, pay_admin):
    action_id = create(client_for(ops_admin)).json()["id"]
    assert client_for(ops_admin).post(f"{URL}/{action_id}/approve", {}).status_code == 403
    response = client_for(approver_b).post(f"{URL}/{action_id}/approve", {"comment": "ok"})
    assert response.status_code == 200 and response.json()["status"] == "pending_approval"
    again = client_for(approver_b).post(f"{URL}/{action_id}/approve", {})
    assert again.status_code == 409 and again.json()["code"] == "already_voted"
    early = client_for(pay_admin).post(f"{URL}/{action_id}/execute")
    assert early.status_code == 409
    body = client_for(pay_admin).post(f"{URL}/{action_id}/approve", {}).json()
    assert body["status"] == "approved"
    assert [a["approver"] for a in body["approvals"]] == ["approver_b", "pay_admin"]
    body = client_for(pay_admin).post(f"{URL}/{action_id}/execute").json()
    assert body["status"] == "executed"
    assert body["rollback_due_at"]
    assert client_for(pay_admin).post(f"{URL}/{action_id}/execute").status_code == 409
    missing_reason = client_for(pay_admin).post(f"{URL}/{action_id}/rollback", {})
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["errors"]
    asked = client_for(pay_admin).post(f"{URL}/{action_id}/rollback", {"reason": "ok"})
    assert asked.status_code == 202 and asked.json()["status"] == "executed"
    assert asked.json()["rollback_request"]["by"] == "pay_admin"
    done = client_for(ops_admin).post(f"{URL}/{action_id}/rollback", {"reason": "agreed"})
    assert done.status_code == 200 and done.json()["status"] == "rolled_back"
    assert done.json()["rollback_request"] is None
    events = [a["event"] for a in client_for(ops_admin).get(f"{URL}/{action_id}").json()["audit"]]
    assert events == [
        "requested",
        "approval",
        "approval",
        "approved",
        "executed",
        "rollback_requested",
        "rolled_back",
    ]


def test_reject_and_cancel(client_for, ops_admin, approver_b):
    first = create(client_for(ops_admin)).json()["id"]
    assert client_for(approver_b).post(f"{URL}/{first}/reject", {}).status_code == 400
    body = client_for(approver_b).post(f"{URL}/{first}/reject", {"reason": "no"}).json()
    assert body["status"] == "rejected"
    second = create(client_for(ops_admin)).json()["id"]
    assert client_for(approver_b).post(f"{URL}/{second}/cancel", {}).status_code == 403
    assert client_for(ops_admin).post(f"{URL}/{second}/cancel", {}).json()["status"] == "cancelled"
    assert client_for(ops_admin).post(f"{URL}/{second}/cancel", {}).status_code == 409


def test_unknown_action_is_404(client_for, ops_admin):
    response = client_for(ops_admin).post(f"{URL}/987654/approve", {})
    assert response.status_code == 404 and response.json()["code"] == "action_not_found"


def test_list_filters(client_for, ops_admin, approver_b, pay_admin):
    client = client_for(ops_admin)
    freeze_id = create(client).json()["id"]
    pause = {
        "action_type": "PAUSE_PAYOUT",
        "target": "region:SN",
        "params": {},
        "reason": "bank outage",
    }
    pause_id = create(client_for(pay_admin), pause).json()["id"]

    def ids(query, user=ops_admin):
        response = client_for(user).get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert set(ids("")) == {freeze_id, pause_id}
    assert ids("type=PAUSE_PAYOUT") == [pause_id]
    assert ids("risk=high") == [pause_id]
    assert ids("target=merchant:m_1042") == [freeze_id]
    assert ids("status=pending_approval&risk=medium") == [freeze_id]
    # ops_admin requested the freeze: only the pause awaits their vote
    assert ids("awaiting_my_approval=true") == [pause_id]
    client_for(approver_b).post(f"{URL}/{pause_id}/approve", {})
    assert ids("awaiting_my_approval=true", approver_b) == [freeze_id]
    for bad in ("status=nope", "risk=extreme", "target=moon", "awaiting_my_approval=maybe"):
        response = client_for(ops_admin).get(f"{URL}?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["errors"]


def test_region_staff_see_only_their_country(client_for, ops_admin, region_sn):
    create(client_for(ops_admin))
    pause = {"action_type": "PAUSE_PAYOUT", "target": "region:SN", "params": {}, "reason": "outage"}
    ci = {**pause, "target": "region:CI"}
    sn_id = create(client_for(ops_admin), pause).json()["id"]
    ci_id = create(client_for(ops_admin), ci).json()["id"]
    rows = client_for(region_sn).get(URL).json()["results"]
    assert [r["id"] for r in rows] == [sn_id]
    assert client_for(region_sn).get(f"{URL}/{ci_id}").status_code == 404


@pytest.mark.parametrize(
    "change,field",
    [
        ({"params": [1]}, "params"),
        ({"params": "x"}, "params"),
        ({"target": 123}, "target"),
        ({"expires_after": 5}, "expires_after"),
        ({"reason": "x" * 1001}, "reason"),
    ],
)
def test_ill_typed_input_is_400_never_500(client_for, ops_admin, change, field):
    response = create(client_for(ops_admin), {**FREEZE, **change})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_huge_or_odd_ids_are_404(client_for, ops_admin):
    client = client_for(ops_admin)
    assert client.get(f"{URL}/99999999999999999999").status_code == 404
    response = client.post(f"{URL}/99999999999999999999/approve", {}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "action_not_found"


def test_approve_with_ill_typed_body_is_400(client_for, ops_admin, approver_b):
    action_id = create(client_for(ops_admin)).json()["id"]
    client = client_for(approver_b)
    response = client.post(f"{URL}/{action_id}/approve", {"params_hash": "nothex"}, format="json")
    assert response.status_code == 400 and "params_hash" in response.json()["errors"]
    response = client.post(f"{URL}/{action_id}/approve", {"comment": "c" * 1001}, format="json")
    assert response.status_code == 400
