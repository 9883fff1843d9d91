"""Three gaps closed in the maker-checker flow: a manual rollback takes two different eligible
people; an approved action expires when it is not executed in time; approvals of approvers
deactivated or no longer eligible stop counting at execute time."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.choices import Role
from common.errors import Conflict, NotAllowed
from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, AuditEvent, RiskLevel, RollbackOutcome
from opsactions.models import (
    AuditEntry,
    MerchantControl,
    OpsAction,
    OpsApproval,
    OutboxMessage,
    PayoutControl,
    RollbackRequest,
)
from opsactions.tasks import expire_pending_actions
from tests.factories import make_user
from tests.opsactions.adversary import events
from tests.race import race

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/ops/actions"
ADMIN = "/admin/opsactions/opsaction/"


@pytest.fixture
def crew(db):
    users = {
        name: make_user(f"rq_{name}", role)
        for name, role in [
            ("ops1", Role.OPS_ADMIN),
            ("ops2", Role.OPS_ADMIN),
            ("ops3", Role.OPS_ADMIN),
            ("pay1", Role.PAY_ADMIN),
            ("pay2", Role.PAY_ADMIN),
            ("fin1", Role.FINANCE_OPS),
            ("sira", Role.SIRA_SERVICE),
        ]
    }
    root = make_user("rq_super_ops", Role.OPS_ADMIN)
    root.is_superuser = root.is_staff = True
    root.save(update_fields=["is_superuser", "is_staff"])
    users["super_ops"] = root
    return users


def freeze(crew, requester="ops1", merchant="m_rq"):
    """An executed medium-risk merchant freeze (requested by `requester`)."""
    action = services.action_create(
        actor=crew[requester],
        action_type="FREEZE_MERCHANT",
        target=f"merchant:{merchant}",
        params={"reason_code": "fraud_suspected"},
        reason="fraud",
    )
    voters = [u for u in ("ops2", "pay1", "ops3") if u != requester][:2]
    for voter in voters:
        services.action_approve(actor=crew[voter], action_id=action.pk)
    return services.action_execute(actor=crew["pay2"], action_id=action.pk)


def snapshot(action):
    row = OpsAction.objects.filter(pk=action.pk).values().get()
    requests = list(RollbackRequest.objects.filter(action_id=action.pk).values())
    effect = list(MerchantControl.objects.values("merchant_id", "status"))
    return row, requests, events(action), OutboxMessage.objects.count(), effect


def rollback(user, action, reason="undo"):
    return services.action_rollback(actor=user, action_id=action.pk, reason=reason)


def session(user):
    client = Client(REMOTE_ADDR="198.51.100.4")
    client.force_login(user)
    return client


# ------------------------------------------------------------------ two-person rollback


def test_first_rollback_call_records_a_request_and_changes_no_effect(crew):
    action = freeze(crew)
    outbox = OutboxMessage.objects.count()
    done = rollback(crew["ops3"], action, "false positive")
    assert done.status == ActionStatus.EXECUTED
    assert MerchantControl.objects.get(merchant_id="m_rq").status == "frozen"
    assert OutboxMessage.objects.count() == outbox
    request = RollbackRequest.objects.get(action=action)
    assert (request.requested_by, request.reason, request.closed_at) == (
        crew["ops3"],
        "false positive",
        None,
    )
    row = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert row.event == AuditEvent.ROLLBACK_REQUESTED and row.actor_username == "rq_ops3"
    assert row.after["status"] == "executed" and row.after["reason"] == "false positive"
    assert row.after["rollback_requested_by"] == crew["ops3"].pk
    assert row.before["rollback_requested_by"] is None
    assert audit_verify().ok


def test_second_different_person_performs_the_rollback(crew):
    action = freeze(crew)
    rollback(crew["ops3"], action, "false positive")
    done = rollback(crew["pay1"], action, "confirmed with the merchant")
    assert done.status == ActionStatus.ROLLED_BACK
    assert not MerchantControl.objects.filter(merchant_id="m_rq", status="frozen").exists()
    assert OutboxMessage.objects.filter(action=action, phase="rollback").count() == 1
    request = RollbackRequest.objects.get(action=action)
    assert request.closed_at and request.outcome == RollbackOutcome.ROLLED_BACK
    assert events(action)[-2:] == [AuditEvent.ROLLBACK_REQUESTED, AuditEvent.ROLLED_BACK]
    last = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert last.actor_username == "rq_pay1"
    assert last.after["rollback_request"]["by"] == "rq_ops3"
    assert last.after["rollback_request"]["reason"] == "false positive"
    assert done.closed_reason == "false positive"
    assert audit_verify().ok


@pytest.mark.parametrize("who", ["ops3", "super_ops"])
def test_the_same_person_calling_twice_is_409_and_changes_nothing(crew, who):
    action = freeze(crew)
    rollback(crew[who], action)
    before = snapshot(action)
    with pytest.raises(Conflict) as exc:
        rollback(crew[who], action, "again")
    assert exc.value.code == "already_requested"
    assert snapshot(action) == before


@pytest.mark.parametrize("position", ["first", "second"])
def test_the_actions_requester_may_be_either_of_the_two(crew, position):
    action = freeze(crew, requester="ops1")
    people = [crew["ops1"], crew["ops3"]] if position == "first" else [crew["ops3"], crew["ops1"]]
    assert rollback(people[0], action).status == ActionStatus.EXECUTED
    assert rollback(people[1], action).status == ActionStatus.ROLLED_BACK


@pytest.mark.parametrize("who", ["fin1", "sira"])
def test_an_ineligible_second_caller_is_403_and_the_request_stays(crew, who):
    action = freeze(crew)
    rollback(crew["ops3"], action)
    before = snapshot(action)
    with pytest.raises(NotAllowed):
        rollback(crew[who], action)
    assert snapshot(action) == before


def test_one_ops_admin_alone_cannot_roll_back_a_critical_platform_pause(crew):
    action = services.action_create(
        actor=crew["ops1"],
        action_type="PAUSE_PAYOUT",
        target="platform",
        params={"reason_code": "bank_outage"},
        reason="outage",
    )
    assert action.risk_level == RiskLevel.CRITICAL
    for voter in ("ops2", "ops3", "pay1", "pay2"):
        services.action_approve(actor=crew[voter], action_id=action.pk)
    services.action_execute(actor=crew["pay2"], action_id=action.pk)
    assert rollback(crew["ops2"], action).status == ActionStatus.EXECUTED
    with pytest.raises(Conflict):
        rollback(crew["ops2"], action)
    assert PayoutControl.objects.get(scope="platform").paused
    assert rollback(crew["pay1"], action).status == ActionStatus.ROLLED_BACK
    assert not PayoutControl.objects.filter(scope="platform", paused=True).exists()


def test_a_requester_no_longer_eligible_lapses_and_the_next_call_asks_anew(crew):
    action = freeze(crew)
    rollback(crew["ops3"], action, "first ask")
    crew["ops3"].is_active = False
    crew["ops3"].save(update_fields=["is_active"])
    done = rollback(crew["pay1"], action, "second ask")
    assert done.status == ActionStatus.EXECUTED  # pay1 is now the one asking
    old, new = RollbackRequest.objects.filter(action=action).order_by("id")
    assert old.outcome == RollbackOutcome.LAPSED and old.closed_at
    assert new.requested_by == crew["pay1"] and new.closed_at is None
    last = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert last.event == AuditEvent.ROLLBACK_REQUESTED
    assert last.after["lapsed_request"]["by"] == "rq_ops3"
    assert rollback(crew["ops2"], action).status == ActionStatus.ROLLED_BACK
    assert audit_verify().ok


def test_a_refused_rollback_closes_the_request_so_a_retry_needs_two_again(crew):
    action = freeze(crew)
    MerchantControl.objects.filter(merchant_id="m_rq").update(reason_code="compliance")
    rollback(crew["ops3"], action)
    with pytest.raises(Conflict) as exc:
        rollback(crew["pay1"], action)
    assert exc.value.code == "rollback_failed"
    assert RollbackRequest.objects.get(action=action).outcome == RollbackOutcome.ROLLBACK_FAILED
    assert events(action)[-1] == AuditEvent.ROLLBACK_FAILED
    # The next call is a new first half again, not a one-person rollback.
    assert rollback(crew["ops2"], action).status == ActionStatus.EXECUTED


def test_a_rollback_request_inserted_in_sql_is_refused(crew):
    action = freeze(crew)
    RollbackRequest.objects.create(
        action=action,
        requested_by=crew["ops3"],
        requested_by_role="ops_admin",
        reason="forged",
        created_at=timezone.now(),
    )
    before = snapshot(action)
    with pytest.raises(Conflict) as exc:
        rollback(crew["pay1"], action)
    assert exc.value.code == "rollback_request_tampered"
    assert snapshot(action) == before


def test_automatic_rollback_stays_one_step_and_closes_an_open_request(crew):
    action = services.action_create(
        actor=crew["ops1"],
        action_type="FREEZE_MERCHANT",
        target="merchant:m_auto",
        params={"reason_code": "fraud_suspected"},
        reason="fraud",
        expires_after="PT6H",
    )
    for voter in ("ops2", "pay1"):
        services.action_approve(actor=crew[voter], action_id=action.pk)
    services.action_execute(actor=crew["pay2"], action_id=action.pk)
    rollback(crew["ops3"], action)
    assert services.actions_rollback_due(now=timezone.now() + timedelta(hours=7)) == (1, 0)
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK
    assert RollbackRequest.objects.get(action=action).outcome == RollbackOutcome.ROLLED_BACK
    last = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert last.after["automatic"] is True and last.actor_username == "system"


def test_api_rollback_is_202_then_200_and_the_detail_shows_the_request(crew, client_for):
    action = freeze(crew)
    first = client_for(crew["ops3"]).post(f"{URL}/{action.pk}/rollback", {"reason": "why"})
    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "executed"
    assert body["rollback_request"]["by"] == "rq_ops3"
    assert body["rollback_request"]["reason"] == "why" and body["rollback_request"]["at"]
    detail = client_for(crew["pay1"]).get(f"{URL}/{action.pk}").json()
    assert detail["rollback_request"]["by"] == "rq_ops3"
    again = client_for(crew["ops3"]).post(f"{URL}/{action.pk}/rollback", {"reason": "why"})
    assert again.status_code == 409 and again.json()["code"] == "already_requested"
    second = client_for(crew["pay1"]).post(f"{URL}/{action.pk}/rollback", {"reason": "ok"})
    assert second.status_code == 200
    assert second.json()["status"] == "rolled_back" and second.json()["rollback_request"] is None
    fresh = freeze(crew, merchant="m_rq2")
    assert client_for(crew["ops3"]).get(f"{URL}/{fresh.pk}").json()["rollback_request"] is None


def test_openapi_documents_202_and_200_for_rollback(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = [p for p in schema["paths"] if p.endswith("/ops/actions/{id}/rollback")]
    assert paths, list(schema["paths"])[:10]
    responses = schema["paths"][paths[0]]["post"]["responses"]
    assert {"200", "202", "409"} <= set(responses)
    assert "second" in responses["202"]["description"]
    detail = schema["components"]["schemas"]["ActionDetail"]["properties"]
    assert "rollback_request" in detail


def test_admin_rollback_takes_two_people_and_the_detail_page_shows_the_request(crew):
    action = freeze(crew)
    url = f"{ADMIN}{action.pk}/transition/rollback/"
    first = session(crew["ops3"]).post(
        url, {"confirm": "yes", "comment": "false alarm"}, follow=True
    )
    assert "Rollback requested" in first.content.decode()
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    page = session(crew["pay1"]).get(f"{ADMIN}{action.pk}/change/").content.decode()
    assert "Rollback request" in page and "rq_ops3" in page and "false alarm" in page
    confirm = session(crew["pay1"]).get(url).content.decode()
    assert "Rollback requested by" in confirm and "rq_ops3" in confirm
    again = session(crew["ops3"]).post(url, {"confirm": "yes", "comment": "again"}, follow=True)
    assert "already_requested" in again.content.decode()
    session(crew["pay1"]).post(url, {"confirm": "yes", "comment": "agreed"})
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK
    trail = AuditEntry.objects.filter(action_id=action.pk).order_by("seq")
    assert [(r.event, r.actor_username) for r in trail][-2:] == [
        ("rollback_requested", "rq_ops3"),
        ("rolled_back", "rq_pay1"),
    ]


@pytest.mark.django_db(transaction=True)
def test_two_different_people_racing_roll_back_exactly_once(crew):
    action = freeze(crew)
    results = race([lambda: rollback(crew["ops3"], action), lambda: rollback(crew["pay1"], action)])
    assert not [r for r in results if isinstance(r, Exception)], results
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK
    assert events(action)[-2:] == [AuditEvent.ROLLBACK_REQUESTED, AuditEvent.ROLLED_BACK]
    assert OutboxMessage.objects.filter(action=action, phase="rollback").count() == 1
    assert RollbackRequest.objects.filter(action=action).count() == 1
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_one_person_racing_themself_only_requests(crew):
    action = freeze(crew)
    results = race([lambda: rollback(crew["ops3"], action) for _ in range(3)])
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 2 and {r.code for r in refused} == {"already_requested"}
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    assert events(action).count(AuditEvent.ROLLBACK_REQUESTED) == 1
    assert RollbackRequest.objects.filter(action=action).count() == 1


# ------------------------------------------------------------------ approved actions expire


def approved(crew, merchant="m_ttl"):
    action = services.action_create(
        actor=crew["ops1"],
        action_type="FREEZE_MERCHANT",
        target=f"merchant:{merchant}",
        params={"reason_code": "fraud_suspected"},
        reason="fraud",
    )
    for voter in ("ops2", "pay1"):
        services.action_approve(actor=crew[voter], action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    return action


def age_approval(action, hours):
    OpsAction.objects.filter(pk=action.pk).update(
        approved_at=timezone.now() - timedelta(hours=hours)
    )


def test_setting_defaults_to_24_hours(settings):
    assert settings.OPS_ACTION_APPROVED_TTL_HOURS == 24


def test_the_beat_task_expires_approved_actions_not_executed_in_time(crew, settings):
    settings.OPS_ACTION_APPROVED_TTL_HOURS = 24
    overdue, fresh = approved(crew, "m_old"), approved(crew, "m_new")
    age_approval(overdue, 25)
    age_approval(fresh, 23)
    assert expire_pending_actions.apply().get() == 1
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    assert overdue.status == ActionStatus.EXPIRED and fresh.status == ActionStatus.APPROVED
    assert overdue.closed_reason == "approved but not executed in time"
    last = AuditEntry.objects.filter(action_id=overdue.pk).order_by("-seq").first()
    assert last.event == AuditEvent.EXPIRED and last.before["status"] == "approved"
    assert audit_verify().ok


def test_the_ttl_setting_moves_the_deadline(crew, settings):
    action = approved(crew)
    age_approval(action, 3)
    settings.OPS_ACTION_APPROVED_TTL_HOURS = 4
    assert services.actions_expire_pending() == 0
    settings.OPS_ACTION_APPROVED_TTL_HOURS = 2
    assert services.actions_expire_pending() == 1


def test_execute_after_the_deadline_expires_it_and_is_409(crew, client_for):
    action = approved(crew)
    age_approval(action, 25)
    response = client_for(crew["pay2"]).post(f"{URL}/{action.pk}/execute")
    assert response.status_code == 409 and response.json()["code"] == "action_expired"
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED
    assert events(action)[-1] == AuditEvent.EXPIRED
    assert not MerchantControl.objects.exists() and not OutboxMessage.objects.exists()
    # And the slot is free again: the same action may be requested anew.
    assert approved(crew).status == ActionStatus.APPROVED


def test_execute_within_the_deadline_runs(crew):
    action = approved(crew)
    age_approval(action, 23)
    assert services.action_execute(actor=crew["pay2"], action_id=action.pk).status == "executed"


def test_cancel_after_the_approved_deadline_is_action_expired(crew):
    action = approved(crew)
    age_approval(action, 25)
    with pytest.raises(Conflict) as exc:
        services.action_cancel(actor=crew["ops1"], action_id=action.pk)
    assert exc.value.code == "action_expired"
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED


# ------------------------------------------------------------------ approvals must still count


def refused_quorum_lost(crew, action):
    before = (
        OpsAction.objects.filter(pk=action.pk).values().get(),
        events(action),
        list(OpsApproval.objects.filter(action=action).values()),
    )
    with pytest.raises(Conflict) as exc:
        services.action_execute(actor=crew["pay2"], action_id=action.pk)
    assert exc.value.code == "quorum_lost"
    after = (
        OpsAction.objects.filter(pk=action.pk).values().get(),
        events(action),
        list(OpsApproval.objects.filter(action=action).values()),
    )
    assert after == before  # nothing executed, nothing written, still approved
    assert not MerchantControl.objects.exists() and not OutboxMessage.objects.exists()


def test_an_approver_deactivated_after_voting_no_longer_counts(crew):
    action = approved(crew)
    crew["ops2"].is_active = False
    crew["ops2"].save(update_fields=["is_active"])
    refused_quorum_lost(crew, action)
    assert OpsAction.objects.get(pk=action.pk).status == ActionStatus.APPROVED


@pytest.mark.parametrize(
    "role, scope",
    [(Role.FINANCE_OPS, "platform"), (Role.MERCHANT_ADMIN, "merchant:m_ttl")],
)
def test_an_approver_who_lost_the_role_no_longer_counts(crew, role, scope):
    action = approved(crew)
    make_user("rq_pay1", role, scope)  # the provisioning service changes role and group
    refused_quorum_lost(crew, action)


def test_an_approver_moved_out_of_scope_no_longer_counts(crew):
    action = approved(crew)
    # Region staff cannot reach a merchant target (its country is unknown): fail closed.
    make_user("rq_ops2", Role.OPS_ADMIN, "region:SN")
    refused_quorum_lost(crew, action)


def test_the_required_role_must_still_be_held_at_execute_time(crew):
    action = services.action_create(
        actor=crew["pay2"],
        action_type="PAUSE_PAYOUT",
        target="region:SN",
        params={"reason_code": "bank_outage"},
        reason="outage",
    )
    assert action.risk_level == RiskLevel.HIGH and action.required_role == "ops_admin"
    extra = make_user("rq_pay3", Role.PAY_ADMIN)
    for voter in (crew["ops2"], crew["pay1"], extra):
        services.action_approve(actor=voter, action_id=action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    # Still three eligible approvers, but the only ops_admin among them is now pay_admin.
    make_user("rq_ops2", Role.PAY_ADMIN)
    with pytest.raises(Conflict) as exc:
        services.action_execute(actor=crew["ops3"], action_id=action.pk)
    assert exc.value.code == "quorum_lost"
    assert not PayoutControl.objects.exists()
    make_user("rq_ops2", Role.OPS_ADMIN)  # restored: the same votes carry it again
    done = services.action_execute(actor=crew["ops3"], action_id=action.pk)
    assert done.status == ActionStatus.EXECUTED


def test_quorum_lost_over_the_api_is_409(crew, client_for):
    action = approved(crew)
    crew["pay1"].is_active = False
    crew["pay1"].save(update_fields=["is_active"])
    response = client_for(crew["pay2"]).post(f"{URL}/{action.pk}/execute")
    assert response.status_code == 409 and response.json()["code"] == "quorum_lost"
    assert client_for(crew["pay2"]).get(f"{URL}/{action.pk}").json()["status"] == "approved"
