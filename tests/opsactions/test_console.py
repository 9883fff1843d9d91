"""The server-rendered ops console (/ops): same services and rules as the API and the admin,
refusals shown on the page with their status, never a 500."""

import re

import pytest
from django.test import Client

from opsactions import policy
from opsactions.choices import ActionStatus
from opsactions.models import AuditEntry, OpsAction

pytestmark = pytest.mark.django_db

FREEZE = {
    "action_type": "FREEZE_MERCHANT",
    "target": "merchant:m_console",
    "param_reason_code": "fraud_suspected",
    "reason": "chargeback spike",
}


def signed_in(user, **kw):
    client = Client(REMOTE_ADDR="192.0.2.44", **kw)
    client.force_login(user)
    return client


def ids(actions):
    return sorted(a.pk for a in actions)


def field_errors(html, input_id):
    """The messages of the error list rendered next to one input."""
    match = re.search(rf'<ul class="errorlist" id="{input_id}-errors">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


# ------------------------------------------------------------------ inbox


def test_inbox_lists_per_user(ops_admin, approver_b, pay_admin, request_action):
    mine = request_action(ops_admin)
    other = request_action(pay_admin, target="merchant:m_other")
    inbox = signed_in(ops_admin).get("/ops")
    assert inbox.status_code == 200
    assert ids(inbox.context["mine"]) == [mine.pk]
    # Not my own request: only pay_admin's waits for my vote.
    assert ids(inbox.context["awaiting"]) == [other.pk]
    assert inbox.context["awaiting_count"] == 1
    assert ids(inbox.context["page"].object_list) == ids([mine, other])
    html = inbox.content.decode()
    assert f'href="/ops/{other.pk}"' in html and "merchant:m_other" in html

    theirs = signed_in(approver_b).get("/ops")
    assert ids(theirs.context["awaiting"]) == ids([mine, other])
    assert theirs.context["mine"] == []
    # Once approver_b has voted, it no longer waits for them.
    signed_in(approver_b).post(f"/ops/{mine.pk}/approve", {"text": "ok"})
    assert ids(signed_in(approver_b).get("/ops").context["awaiting"]) == [other.pk]


def test_inbox_filters_by_status_and_type_and_refuses_bad_values(
    ops_admin, approver_b, request_action
):
    frozen = request_action(ops_admin)
    paused = request_action(ops_admin, "PAUSE_PAYOUT", target="merchant:m_2")
    signed_in(ops_admin).post(f"/ops/{paused.pk}/cancel", {"text": "no longer needed"})
    client = signed_in(approver_b)
    by_status = client.get("/ops", {"status": "cancelled"})
    assert ids(by_status.context["page"].object_list) == [paused.pk]
    by_type = client.get("/ops", {"type": "FREEZE_MERCHANT"})
    assert ids(by_type.context["page"].object_list) == [frozen.pk]
    for bad in ({"status": "nope"}, {"type": "DROP_TABLE"}, {"page": "x"}, {"page": "0"}):
        response = client.get("/ops", bad)
        assert response.status_code == 400, bad
        assert 'role="alert"' in response.content.decode()


def test_inbox_pages_through_every_visible_action(ops_admin, approver_b, request_action):
    for n in range(23):
        request_action(ops_admin, target=f"merchant:m_page{n}")
    client = signed_in(approver_b)
    first = client.get("/ops")
    assert len(first.context["page"].object_list) == 20 and first.context["total"] == 23
    second = client.get("/ops", {"page": "2"})
    assert len(second.context["page"].object_list) == 3
    seen = ids(first.context["page"].object_list) + ids(second.context["page"].object_list)
    assert sorted(seen) == ids(OpsAction.objects.all())


def test_region_user_sees_only_its_country(ops_admin, region_sn, request_action):
    sn = request_action(ops_admin, "PAUSE_PAYOUT", target="region:SN")
    gh = request_action(ops_admin, "PAUSE_PAYOUT", target="region:GH")
    merchant = request_action(ops_admin)
    client = signed_in(region_sn)
    inbox = client.get("/ops")
    assert ids(inbox.context["page"].object_list) == [sn.pk]
    assert ids(inbox.context["awaiting"]) == [sn.pk]
    html = inbox.content.decode()
    assert "region:SN" in html and "region:GH" not in html and "merchant:m_console" not in html
    assert client.get(f"/ops/{sn.pk}").status_code == 200
    assert client.get(f"/ops/{gh.pk}").status_code == 404
    assert client.get(f"/ops/{merchant.pk}").status_code == 404
    # Nor can it act on what it cannot see (the service is never reached).
    assert client.post(f"/ops/{gh.pk}/approve", {"text": "x"}).status_code == 404
    assert OpsAction.objects.get(pk=gh.pk).approvals.count() == 0


@pytest.mark.parametrize("fixture", ["merchant_admin_m1", "agent_user", "outsider"])
def test_tenants_get_403_everywhere(request, fixture, ops_admin, request_action):
    action = request_action(ops_admin)
    client = signed_in(request.getfixturevalue(fixture))
    for url in ("/ops", "/ops/new", "/ops/new?type=FREEZE_MERCHANT", f"/ops/{action.pk}"):
        assert client.get(url).status_code == 403, url
    assert client.post("/ops/new", FREEZE).status_code == 403
    assert client.post("/ops/preview", FREEZE).status_code == 403
    assert client.post(f"/ops/{action.pk}/approve", {"text": "x"}).status_code == 403
    assert "Ops console" not in client.get("/").content.decode()
    assert OpsAction.objects.count() == 1 and action.approvals.count() == 0


def test_anonymous_is_sent_to_sign_in(ops_admin, request_action):
    action = request_action(ops_admin)
    for url in ("/ops", "/ops/new", f"/ops/{action.pk}"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login?next=")


def test_navigation_shows_the_console_to_ops_roles_only(ops_admin, merchant_admin_m1):
    from accounts.web.nav import pages_for

    assert "ops-console" in [p.url_name for p in pages_for(ops_admin)]
    assert "ops-console" not in [p.url_name for p in pages_for(merchant_admin_m1)]


def test_superuser_sees_every_action_but_never_bypasses_the_quorum(
    ops_admin, region_sn, request_action
):
    from accounts.models import User

    root = User.objects.create_superuser("console_root", password="pw-test-1234")
    actions = [
        request_action(ops_admin),
        request_action(region_sn, "PAUSE_PAYOUT", target="region:SN"),
    ]
    client = signed_in(root)
    inbox = client.get("/ops")
    assert inbox.status_code == 200
    assert ids(inbox.context["page"].object_list) == ids(actions)
    assert inbox.context["can_request"] is False
    assert 'id="new-action"' not in inbox.content.decode()
    assert 'id="read-only"' in inbox.content.decode()
    detail = client.get(f"/ops/{actions[0].pk}").content.decode()
    assert "fraud_suspected" in detail and 'id="btn-approve"' not in detail
    # A forged vote: the service refuses it (a superuser acts as its role, and has none).
    forged = client.post(f"/ops/{actions[0].pk}/approve", {"text": "root says yes"})
    assert forged.status_code == 403 and "role_not_eligible" in forged.content.decode()
    assert actions[0].approvals.count() == 0


def test_superuser_with_a_role_counts_as_that_role_and_never_self_approves(
    super_ops, approver_b, request_action
):
    action = request_action(super_ops)
    client = signed_in(super_ops)
    assert 'id="btn-approve"' not in client.get(f"/ops/{action.pk}").content.decode()
    response = client.post(f"/ops/{action.pk}/approve", {"text": "mine"})
    assert response.status_code == 403 and "self_approval" in response.content.decode()
    # One vote from another ops admin is one vote of two: no shortcut.
    signed_in(approver_b).post(f"/ops/{action.pk}/approve", {"text": "ok"})
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL and action.approvals.count() == 1


# ------------------------------------------------------------------ create


def test_type_picker_offers_only_what_the_role_may_request(
    ops_admin, finance_ops, region_sn, sira_service
):
    def offered(user):
        return {t["value"] for t in signed_in(user).get("/ops/new").context["types"]}

    assert offered(ops_admin) == set(policy.POLICIES)
    # finance_ops requests holds, reversals, float limits, reconciliations; no freeze.
    assert "SET_HOLD" in offered(finance_ops) and "FREEZE_MERCHANT" not in offered(finance_ops)
    # Region staff: only types with region or agent targets.
    assert offered(region_sn) == {
        t for t, rule in policy.POLICIES.items() if rule.targets & {"region", "agent"}
    }
    client = signed_in(finance_ops)
    assert client.get("/ops/new?type=FREEZE_MERCHANT").status_code == 403
    assert client.get("/ops/new?type=NOPE").status_code == 400


def test_form_is_generated_from_the_parameter_serializer(ops_admin):
    html = signed_in(ops_admin).get("/ops/new?type=SET_HOLD").content.decode()
    # ChoiceField -> select with its choices, required; IntegerField -> number with bounds.
    assert re.search(r'<select id="id_param_kind" name="param_kind"\s+required', html)
    assert '<option value="percent"' in html and '<option value="amount"' in html
    days = re.search(r'<input id="id_param_days"[^>]*>', html, re.S).group(0)
    assert 'type="number"' in days and 'min="1"' in days and 'max="180"' in days
    assert "required" in days
    percent = re.search(r'<input id="id_param_percent"[^>]*>', html, re.S).group(0)
    assert 'inputmode="decimal"' in percent and "required" not in percent
    assert "Above 50 the risk is high." in html  # the serializer's help text
    freeze = signed_in(ops_admin).get("/ops/new?type=FREEZE_MERCHANT").content.decode()
    for code in ("fraud_suspected", "chargeback_spike", "compliance", "other"):
        assert f'<option value="{code}"' in freeze
    # Irreversible types offer no automatic end.
    assert 'name="expires_after"' in freeze
    recon = signed_in(ops_admin).get("/ops/new?type=FORCE_RECONCILIATION").content.decode()
    assert 'name="expires_after"' not in recon and 'type="date"' in recon


def test_create_with_invalid_params_is_a_400_with_errors_next_to_the_fields(ops_admin):
    client = signed_in(ops_admin)
    response = client.post(
        "/ops/new",
        {
            "action_type": "SET_HOLD",
            "target": "merchant:m_1",
            "param_kind": "percent",
            "param_percent": "250",
            "param_days": "500",
            "reason": "risk",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert field_errors(html, "id_param_days") == [
        "Ensure this value is less than or equal to 180."
    ]
    assert field_errors(html, "id_param_percent")
    assert 'aria-invalid="true"' in html
    # What was typed is kept.
    assert 'value="500"' in html and "invalid_params" in html
    missing = client.post("/ops/new", {**FREEZE, "param_reason_code": ""})
    assert missing.status_code == 400
    assert field_errors(missing.content.decode(), "id_param_reason_code") == [
        "This field is required."
    ]
    bad_target = client.post("/ops/new", {**FREEZE, "target": "merchant:"})
    assert bad_target.status_code == 400
    assert field_errors(bad_target.content.decode(), "target")
    wrong_kind = client.post("/ops/new", {**FREEZE, "target": "agent:a_1"})
    assert wrong_kind.status_code == 400
    assert field_errors(wrong_kind.content.decode(), "target") == [
        "FREEZE_MERCHANT applies to targets of kind: merchant."
    ]
    no_reason = client.post("/ops/new", {**FREEZE, "reason": " "})
    assert no_reason.status_code == 400 and field_errors(no_reason.content.decode(), "reason")
    unknown = client.post("/ops/new", {**FREEZE, "action_type": "DROP"})
    assert unknown.status_code == 400
    assert OpsAction.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_create_refusals_keep_their_status(ops_admin, region_sn, finance_ops, request_action):
    request_action(ops_admin, target=FREEZE["target"])
    duplicate = signed_in(ops_admin).post("/ops/new", FREEZE)
    assert duplicate.status_code == 409 and "open_action_exists" in duplicate.content.decode()
    # Region staff may not target a merchant (its country is unknown): 403 on the page.
    out_of_scope = signed_in(region_sn).post(
        "/ops/new", {**FREEZE, "target": "merchant:m_elsewhere"}
    )
    assert out_of_scope.status_code == 403
    assert "target_out_of_scope" in out_of_scope.content.decode()
    role = signed_in(finance_ops).post("/ops/new", {**FREEZE, "target": "merchant:m_f"})
    assert role.status_code == 403 and "role_not_eligible" in role.content.decode()
    assert OpsAction.objects.count() == 1


def test_create_requests_the_action_through_the_service(ops_admin):
    response = signed_in(ops_admin).post(
        "/ops/new",
        {
            "action_type": "SET_HOLD",
            "target": "merchant:m_hold",
            "param_kind": "amount",
            "param_amount": "1500000.50",
            "param_currency": "XOF",
            "param_days": "10",
            "reason": "refund spike",
            "expires_after": "PT6H",
        },
    )
    action = OpsAction.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ops/{action.pk}"
    assert action.params == {
        "kind": "amount",
        "amount": "1500000.5",
        "currency": "XOF",
        "days": 10,
    }
    # 1 500 000.50 XOF is above the 1 000 000 XOF high-risk amount: 3 approvals incl. ops_admin.
    assert (action.risk_level, action.required_approvals, action.required_role) == (
        "high",
        3,
        "ops_admin",
    )
    assert action.effect_duration.total_seconds() == 6 * 3600
    assert action.requested_by == ops_admin and action.status == ActionStatus.PENDING_APPROVAL
    audit = AuditEntry.objects.filter(action_id=action.pk).order_by("seq").first()
    assert audit.client_ip == "192.0.2.44" and audit.actor_username == "ops_admin"


# ------------------------------------------------------------------ preview


def preview(client, **data):
    response = client.post("/ops/preview", data)
    html = response.content.decode()
    risk = re.search(r'id="preview-risk" data-risk="(\w+)"', html)
    quorum = re.search(r'id="preview-quorum" data-quorum="(\d+)"', html)
    return response.status_code, risk and risk.group(1), quorum and int(quorum.group(1)), html


@pytest.mark.parametrize(
    "data, risk, quorum",
    [
        ({"action_type": "FREEZE_MERCHANT", "target": "merchant:m_1"}, "medium", 2),
        ({"action_type": "FREEZE_AGENT", "target": "agent:a_1"}, "low", 1),
        ({"action_type": "PAUSE_PAYOUT", "target": "bank:b_1"}, "high", 3),
        ({"action_type": "PAUSE_PAYOUT", "target": "platform"}, "critical", 4),
        (
            {
                "action_type": "SET_HOLD",
                "target": "merchant:m_1",
                "param_kind": "percent",
                "param_percent": "10",
                "param_days": "5",
            },
            "medium",
            2,
        ),
        (
            {
                "action_type": "SET_HOLD",
                "target": "merchant:m_1",
                "param_kind": "percent",
                "param_percent": "60",
                "param_days": "5",
            },
            "high",
            3,
        ),
        (
            {
                "action_type": "REVERSE_TRANSACTION",
                "target": "merchant:m_1",
                "param_transaction_id": "tx_1",
                "param_amount": "2000000",
                "param_currency": "XOF",
                "param_reason": "duplicate",
            },
            "high",
            3,
        ),
    ],
)
def test_preview_shows_the_policy_risk_and_quorum(ops_admin, data, risk, quorum):
    status, shown_risk, shown_quorum, html = preview(signed_in(ops_admin), **data)
    assert (status, shown_risk, shown_quorum) == (200, risk, quorum)
    if risk in ("high", "critical"):
        assert "One approver must be" in html
    assert OpsAction.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_preview_of_an_incomplete_form_shows_the_base_risk_as_a_minimum(ops_admin, region_sn):
    client = signed_in(ops_admin)
    status, risk, quorum, html = preview(client, action_type="SET_HOLD", target="")
    assert (status, risk, quorum) == (200, "medium", 2) and "Risk, at least" in html
    status, risk, quorum, html = preview(client, action_type="NOPE")
    assert status == 400 and risk is None
    # Whether this user may request it on this target is said before submitting.
    _s, _r, _q, html = preview(signed_in(region_sn), action_type="PAUSE_PAYOUT", target="region:GH")
    assert 'id="preview-refusal"' in html and "target_out_of_scope" in html
    _s, _r, _q, html = preview(signed_in(region_sn), action_type="PAUSE_PAYOUT", target="region:SN")
    assert 'id="preview-refusal"' not in html


def test_the_form_page_shows_the_preview_before_submitting(ops_admin):
    html = signed_in(ops_admin).get("/ops/new?type=PAUSE_PAYOUT").content.decode()
    assert 'hx-post="/ops/preview"' in html and 'id="preview-quorum"' in html


# ------------------------------------------------------------------ detail and transitions


def buttons(client, action):
    html = client.get(f"/ops/{action.pk}").content.decode()
    return sorted(re.findall(r'id="btn-(\w+)"', html))


def test_detail_shows_everything_about_the_action(ops_admin, approver_b, request_action):
    action = request_action(ops_admin, reason="chargeback spike on m_1")
    signed_in(approver_b).post(f"/ops/{action.pk}/approve", {"text": "looks right"})
    html = signed_in(ops_admin).get(f"/ops/{action.pk}").content.decode()
    for text in (
        "Freeze merchant",
        "merchant:m_1",
        "fraud_suspected",
        action.params_hash,
        "chargeback spike on m_1",
        "looks right",
        "approver_b",
        "Pending approval",
        "Medium",
    ):
        assert text in html, text
    assert re.search(r'id="approvals-count">1</strong> / 2', html)
    for entry in AuditEntry.objects.filter(action_id=action.pk):
        assert entry.hash in html
    assert html.count('class="tl-item') == 2  # requested, approval


def test_buttons_follow_state_and_user(ops_admin, approver_b, pay_admin, request_action):
    action = request_action(ops_admin)
    assert buttons(signed_in(ops_admin), action) == ["cancel"]
    assert buttons(signed_in(approver_b), action) == ["approve", "reject"]
    signed_in(approver_b).post(f"/ops/{action.pk}/approve", {"text": "ok"})
    assert buttons(signed_in(approver_b), action) == []
    signed_in(pay_admin).post(f"/ops/{action.pk}/approve", {"text": "ok"})
    assert buttons(signed_in(ops_admin), action) == ["cancel", "execute"]
    assert buttons(signed_in(pay_admin), action) == ["execute"]
    signed_in(pay_admin).post(f"/ops/{action.pk}/execute")
    assert buttons(signed_in(pay_admin), action) == ["rollback"]
    signed_in(pay_admin).post(f"/ops/{action.pk}/rollback", {"text": "false alarm"})
    # The one who asked waits for a second person.
    assert buttons(signed_in(pay_admin), action) == []
    assert buttons(signed_in(approver_b), action) == ["rollback"]


def test_approve_by_a_second_approver_moves_the_status(
    ops_admin, approver_b, pay_admin, request_action
):
    action = request_action(ops_admin)
    first = signed_in(approver_b).post(f"/ops/{action.pk}/approve", {"text": "checked"})
    assert first.status_code == 302 and first["Location"] == f"/ops/{action.pk}"
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    second = signed_in(pay_admin).post(f"/ops/{action.pk}/approve", {"text": "ok"}, follow=True)
    assert "Approved: the quorum is reached." in second.content.decode()
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    votes = {a.approver.username: a.comment for a in action.approvals.all()}
    assert votes == {"approver_b": "checked", "pay_admin": "ok"}
    vote = AuditEntry.objects.filter(action_id=action.pk, event="approval").first()
    assert vote.client_ip == "192.0.2.44"


def test_requester_has_no_approve_button_and_a_forged_post_is_refused(ops_admin, request_action):
    action = request_action(ops_admin)
    client = signed_in(ops_admin)
    html = client.get(f"/ops/{action.pk}").content.decode()
    assert 'id="btn-approve"' not in html and 'id="btn-reject"' not in html
    assert "You requested this action" in html or 'id="btn-cancel"' in html
    response = client.post(f"/ops/{action.pk}/approve", {"text": "trust me"})
    assert response.status_code == 403
    assert "self_approval" in response.content.decode()
    rejected = client.post(f"/ops/{action.pk}/reject", {"text": "changed my mind"})
    assert rejected.status_code == 403
    action.refresh_from_db()
    assert action.approvals.count() == 0 and action.status == ActionStatus.PENDING_APPROVAL


def test_refusals_are_shown_with_their_status(ops_admin, approver_b, pay_admin, request_action):
    action = request_action(ops_admin)
    client = signed_in(approver_b)
    no_reason = client.post(f"/ops/{action.pk}/reject", {"text": ""})
    assert no_reason.status_code == 400 and "A rejection needs a reason." in (
        no_reason.content.decode()
    )
    client.post(f"/ops/{action.pk}/approve", {"text": "ok"})
    twice = client.post(f"/ops/{action.pk}/approve", {"text": "again"})
    assert twice.status_code == 409 and "already_voted" in twice.content.decode()
    early = signed_in(pay_admin).post(f"/ops/{action.pk}/execute")
    assert early.status_code == 409 and "action_pending_approval" in early.content.decode()
    tampered = signed_in(pay_admin).post(
        f"/ops/{action.pk}/approve", {"text": "ok", "params_hash": "0" * 64}
    )
    assert tampered.status_code == 409 and "params_hash_mismatch" in tampered.content.decode()
    assert signed_in(pay_admin).post(f"/ops/{action.pk}/nope").status_code == 404
    assert signed_in(pay_admin).post("/ops/99999999/approve").status_code == 404
    assert signed_in(pay_admin).get(f"/ops/{action.pk}/approve").status_code == 405
    action.refresh_from_db()
    assert action.approvals.count() == 1


def test_execute_rollback_and_cancel_from_the_console(
    ops_admin, approver_b, pay_admin, request_action
):
    action = request_action(ops_admin)
    for voter in (approver_b, pay_admin):
        signed_in(voter).post(f"/ops/{action.pk}/approve", {"text": "ok"})
    executed = signed_in(pay_admin).post(f"/ops/{action.pk}/execute", follow=True)
    assert "Executed." in executed.content.decode()
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    assert 'id="effect"' in executed.content.decode()
    asked = signed_in(pay_admin).post(
        f"/ops/{action.pk}/rollback", {"text": "false alarm"}, follow=True
    )
    assert "a second eligible person must confirm it" in asked.content.decode()
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    signed_in(approver_b).post(f"/ops/{action.pk}/rollback", {"text": "agreed"})
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK

    other = request_action(ops_admin, target="merchant:m_cancel")
    cancel = signed_in(ops_admin).post(f"/ops/{other.pk}/cancel", {"text": "typo"})
    assert cancel.status_code == 302
    other.refresh_from_db()
    assert other.status == ActionStatus.CANCELLED and other.closed_reason == "typo"


def test_transitions_need_a_csrf_token(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    client = signed_in(approver_b, enforce_csrf_checks=True)
    assert client.post(f"/ops/{action.pk}/approve", {"text": "ok"}).status_code == 403
    assert client.post("/ops/new", FREEZE).status_code == 403
    assert action.approvals.count() == 0


def test_region_staff_buttons_reach_only_their_country(ops_admin, region_sn, request_action):
    from agents.models import Agent

    Agent.objects.create(agent_id="a_sn_console", country="SN")
    action = request_action(ops_admin, "FREEZE_AGENT", target="agent:a_sn_console")
    assert buttons(signed_in(region_sn), action) == ["approve", "reject"]
    signed_in(region_sn).post(f"/ops/{action.pk}/approve", {"text": "ok"})
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED  # low risk: one approval
