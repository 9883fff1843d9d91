"""Every status an action has is a committed one: a request is born pending approval, an
execution goes from approved to executed or failed in one write. Watched from inside the
transaction (no intermediate write) and from another connection (nothing else seen)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsactions import executors, services
from opsactions.choices import ActionStatus, ActionType
from opsactions.models import AuditEntry, OpsAction
from tests.race import in_other_connection

pytestmark = pytest.mark.django_db(transaction=True)


def status_here(action_id):
    return OpsAction.objects.filter(pk=action_id).values_list("status", flat=True).first()


def status_elsewhere(action_id):
    """The action's status as another process sees it now (None: not committed)."""
    return in_other_connection(lambda: status_here(action_id))


def test_a_request_is_inserted_pending_and_unseen_until_commit(ops_admin, monkeypatch):
    # No status exists only inside a transaction (no "requested", no "executing").
    assert set(ActionStatus.values) == {
        "pending_approval",
        "approved",
        "executed",
        "failed",
        "rejected",
        "cancelled",
        "expired",
        "rolled_back",
    }
    seen = []
    append = services.audit_append

    def watching(**kw):
        # Inside the creating transaction, after the INSERT.
        seen.append((status_here(kw["action_id"]), status_elsewhere(kw["action_id"])))
        return append(**kw)

    monkeypatch.setattr(services, "audit_append", watching)
    with CaptureQueriesContext(connection) as captured:
        action = services.action_create(
            actor=ops_admin,
            action_type="FREEZE_MERCHANT",
            target="merchant:m_born",
            params={"reason_code": "other"},
            reason="states",
        )
    assert seen == [(ActionStatus.PENDING_APPROVAL, None)]
    writes = [
        q["sql"].split(" ", 1)[0]
        for q in captured.captured_queries
        if '"opsactions_opsaction"' in q["sql"].split(" WHERE ")[0]
        and q["sql"].startswith(("INSERT", "UPDATE"))
    ]
    assert writes == ["INSERT"]
    assert status_elsewhere(action.pk) == ActionStatus.PENDING_APPROVAL


@pytest.mark.parametrize("fails", [False, True], ids=["executed", "failed"])
def test_an_execution_writes_only_its_outcome(
    ops_admin, approver_b, pay_admin, request_action, monkeypatch, fails
):
    action = request_action(ops_admin, target="merchant:m_exec_states")
    for voter in (approver_b, pay_admin):
        services.action_approve(actor=voter, action_id=action.pk)
    executor = executors.EXECUTORS[ActionType.FREEZE_MERCHANT]
    run = executor.execute
    seen = []

    def watching(locked, now):
        # Mid-execution, the effect about to be written: the row is still `approved`,
        # in this transaction and for everyone else.
        seen.append((status_here(locked.pk), status_elsewhere(locked.pk)))
        if fails:
            raise RuntimeError("bank unreachable")
        return run(locked, now)

    monkeypatch.setattr(executor, "execute", watching)
    with CaptureQueriesContext(connection) as captured:
        done = services.action_execute(actor=pay_admin, action_id=action.pk)
    outcome = ActionStatus.FAILED if fails else ActionStatus.EXECUTED
    assert seen == [(ActionStatus.APPROVED, ActionStatus.APPROVED)]
    assert done.status == outcome and status_elsewhere(action.pk) == outcome
    sql = [q["sql"] for q in captured.captured_queries]
    updates = [s for s in sql if s.startswith('UPDATE "opsactions_opsaction"')]
    assert len(updates) == 1, updates
    after = AuditEntry.objects.filter(action_id=action.pk).order_by("seq")
    assert [row.after["status"] for row in after][-2:] == [ActionStatus.APPROVED, outcome]
