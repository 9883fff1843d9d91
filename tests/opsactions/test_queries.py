"""What one request costs the action row: the view reads it once (may this user see it?),
the service locks it once, the answer is the service's own object; a transition counts the
votes once and writes the row once."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opsactions import services
from opsactions.choices import ActionStatus

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/ops/actions"
ACTION_SELECT = re.compile(r'^SELECT .* FROM "opsactions_opsaction"( |$)', re.S)


def tally(captured):
    """Reads, locks and writes of the action table, and COUNTs of votes, in `captured`."""
    sql = [q["sql"] for q in captured.captured_queries]
    reads = [s for s in sql if ACTION_SELECT.match(s)]
    return {
        "reads": len(reads),
        "locks": sum(s.endswith("FOR UPDATE") for s in reads),
        "inserts": sum(s.startswith('INSERT INTO "opsactions_opsaction"') for s in sql),
        "updates": sum(s.startswith('UPDATE "opsactions_opsaction"') for s in sql),
        "vote_counts": sum(
            s.startswith("SELECT COUNT(*)") and 'FROM "opsactions_opsapproval"' in s for s in sql
        ),
    }


@pytest.fixture
def freeze(ops_admin, request_action):
    return request_action(ops_admin, target="merchant:m_queries")


def approved(action, *voters):
    for voter in voters:
        services.action_approve(actor=voter, action_id=action.pk)
    return action


def test_the_tally_sees_a_read_a_lock_a_count_and_a_write(freeze, approver_b):
    """The counter itself: a plain read, a locked read, a vote COUNT, a row UPDATE."""
    from opsactions.models import OpsAction

    with CaptureQueriesContext(connection) as captured:
        OpsAction.objects.get(pk=freeze.pk)
        OpsAction.objects.select_for_update().get(pk=freeze.pk)
        freeze.approvals.count()
        OpsAction.objects.filter(pk=freeze.pk).update(updated_at=freeze.updated_at)
    assert tally(captured) == {
        "reads": 2,
        "locks": 1,
        "inserts": 0,
        "updates": 1,
        "vote_counts": 1,
    }


def test_create_over_the_api_inserts_once_and_never_reads_it_back(ops_admin, client_for):
    client = client_for(ops_admin)
    body = {
        "action_type": "FREEZE_MERCHANT",
        "target": "merchant:m_q_create",
        "params": {"reason_code": "other"},
        "reason": "queries",
    }
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, body, format="json")
    assert response.status_code == 201 and response.json()["status"] == "pending_approval"
    counts = tally(captured)
    assert (counts["inserts"], counts["updates"], counts["reads"]) == (1, 0, 0), counts


@pytest.mark.parametrize(
    ("verb", "body", "status", "code"),
    [
        ("approve", {"comment": "ok"}, ActionStatus.APPROVED, 200),
        ("reject", {"reason": "no"}, ActionStatus.REJECTED, 200),
        ("cancel", {"reason": "changed"}, ActionStatus.CANCELLED, 200),
        ("execute", {}, ActionStatus.EXECUTED, 200),
        ("rollback", {"reason": "undo"}, ActionStatus.EXECUTED, 202),
    ],
)
def test_an_api_transition_reads_the_action_once_locks_it_once_and_counts_votes_once(
    freeze, ops_admin, approver_b, pay_admin, client_for, verb, body, status, code
):
    actor = {"approve": pay_admin, "reject": pay_admin, "cancel": ops_admin}.get(verb, ops_admin)
    voters = [approver_b] if verb == "approve" else [approver_b, pay_admin]
    if verb in ("execute", "rollback"):
        approved(freeze, *voters)
        if verb == "rollback":
            services.action_execute(actor=pay_admin, action_id=freeze.pk)
    elif verb != "reject":
        approved(freeze, *voters[:1])
    client = client_for(actor)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"{URL}/{freeze.pk}/{verb}", body, format="json")
    assert response.status_code == code, response.json()
    assert response.json()["status"] == status
    counts = tally(captured)
    assert (counts["reads"], counts["locks"]) == (2, 1), counts
    assert counts["vote_counts"] == 1, counts
    # One UPDATE of the row per transition (a first rollback request touches updated_at).
    assert counts["updates"] == 1, counts


def test_the_console_button_reads_the_action_once_and_locks_it_once(freeze, approver_b, pay_admin):
    approved(freeze, approver_b)
    client = Client()
    client.force_login(pay_admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/ops/{freeze.pk}/approve", {"text": "ok"})
    assert response.status_code == 302
    counts = tally(captured)
    assert (counts["reads"], counts["locks"], counts["vote_counts"]) == (2, 1, 1), counts
    freeze.refresh_from_db()
    assert freeze.status == ActionStatus.APPROVED


def test_the_admin_button_reads_the_action_once_and_locks_it_once(freeze, approver_b, pay_admin):
    approved(freeze, approver_b, pay_admin)
    client = Client()
    client.force_login(pay_admin)
    url = f"/admin/opsactions/opsaction/{freeze.pk}/transition/execute/"
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"confirm": "yes", "comment": ""})
    assert response.status_code == 302
    counts = tally(captured)
    assert (counts["reads"], counts["locks"], counts["vote_counts"]) == (2, 1, 1), counts
    freeze.refresh_from_db()
    assert freeze.status == ActionStatus.EXECUTED
