"""Races on the real database: threads with their own connections hit the same action.

Each thread waits at a barrier (tests/race.py) so the calls really overlap; the row lock
(select_for_update) and the unique constraints must make the outcome exact. The first test
shows the race itself with the lock taken away, then the lock stopping it.
"""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Role
from common.errors import Conflict, DomainError
from opsactions import executors, services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, ActionType, AuditEvent, ControlStatus
from opsactions.models import AuditEntry, MerchantControl, OpsAction, OpsApproval, OutboxMessage
from tests.factories import make_user
from tests.race import race

pytestmark = pytest.mark.django_db(transaction=True)


def two_executions_meet(monkeypatch):
    """Hold each execution just before its effect until the other one either got there too
    (no lock: both passed every check) or is seen waiting on a lock (the row lock holds it
    back); so the outcome never depends on thread timing."""
    executor = executors.EXECUTORS[ActionType.FREEZE_MERCHANT]
    run, arrived, ready = executor.execute, [], threading.Condition()

    def other_waits_on_a_lock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            return cursor.fetchone()[0] > 0

    def meeting(action, now):
        deadline = time.monotonic() + 10
        with ready:
            arrived.append(action.pk)
            ready.notify_all()
            while len(arrived) < 2 and not other_waits_on_a_lock():
                assert time.monotonic() < deadline, "the other execution never showed up"
                ready.wait(timeout=0.01)
        return run(action, now)

    monkeypatch.setattr(executor, "execute", meeting)
    return arrived


def executions(action):
    """How many times the effect ran: outbox commands and `executed` audit rows."""
    return (
        OutboxMessage.objects.filter(action=action, phase="execute").count(),
        AuditEntry.objects.filter(action_id=action.pk, event=AuditEvent.EXECUTED).count(),
    )


def test_without_the_row_lock_two_executes_both_run_with_it_once(
    ops_admin, approver_b, pay_admin, monkeypatch
):
    def approved_freeze(merchant):
        action = services.action_create(
            actor=ops_admin,
            action_type="FREEZE_MERCHANT",
            target=f"merchant:{merchant}",
            params={"reason_code": "other"},
            reason="race",
        )
        services.action_approve(actor=approver_b, action_id=action.pk)
        services.action_approve(actor=pay_admin, action_id=action.pk)
        # An existing control row: the first execution locks it, so the second one's
        # effect waits for the first to commit instead of colliding on the insert.
        MerchantControl.objects.create(
            merchant_id=merchant,
            status=ControlStatus.ACTIVE,
            action=action,
            updated_at=timezone.now(),
        )
        return action

    def execute_twice(action):
        return race(
            [
                lambda: services.action_execute(actor=ops_admin, action_id=action.pk),
                lambda: services.action_execute(actor=pay_admin, action_id=action.pk),
            ]
        )

    arrived = two_executions_meet(monkeypatch)
    # 1. The lock taken away (a plain read): both callers read `approved`, pass every
    # check, and the effect runs twice: the race the lock exists for.
    unlocked = approved_freeze("m_nolock")
    with monkeypatch.context() as patch:
        patch.setattr(services, "_lock", lambda action_id: OpsAction.objects.get(pk=action_id))
        results = execute_twice(unlocked)
    assert all(isinstance(r, OpsAction) for r in results), results
    assert executions(unlocked) == (2, 2)
    # 2. With the lock: the second caller waits for the first to commit, then is refused.
    arrived.clear()
    locked = approved_freeze("m_lock")
    results = execute_twice(locked)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and refused[0].code == "action_executed", results
    assert executions(locked) == (1, 1) and len(arrived) == 1
    assert audit_verify().ok


def approvers(n):
    return [make_user(f"racer_{i}", Role.OPS_ADMIN if i % 2 else Role.PAY_ADMIN) for i in range(n)]


def test_concurrent_approvals_reach_exactly_the_quorum_and_flip_once(ops_admin):
    action = services.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_race",
        params={"reason_code": "fraud_suspected"},
        reason="race",
    )
    voters = approvers(6)
    results = race(
        [(lambda v=v: services.action_approve(actor=v, action_id=action.pk)) for v in voters]
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(ok) == 2 and len(refused) == 4, results
    assert {r.code for r in refused} == {"action_approved"}
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    assert OpsApproval.objects.filter(action=action).count() == 2
    flips = AuditEntry.objects.filter(action_id=action.pk, event=AuditEvent.APPROVED).count()
    assert flips == 1
    assert audit_verify().ok


def test_same_approver_voting_twice_at_once_counts_once(ops_admin, approver_b):
    action = services.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_twice",
        params={"reason_code": "other"},
        reason="race",
    )
    results = race([lambda: services.action_approve(actor=approver_b, action_id=action.pk)] * 4)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(r.code == "already_voted" for r in results if isinstance(r, Exception))
    assert OpsApproval.objects.filter(action=action).count() == 1


def test_two_simultaneous_executes_run_the_effect_once(ops_admin, approver_b, pay_admin):
    action = services.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_exec",
        params={"reason_code": "other"},
        reason="race",
    )
    services.action_approve(actor=approver_b, action_id=action.pk)
    services.action_approve(actor=pay_admin, action_id=action.pk)
    results = race(
        [
            lambda: services.action_execute(actor=ops_admin, action_id=action.pk),
            lambda: services.action_execute(actor=pay_admin, action_id=action.pk),
            lambda: services.action_execute(actor=approver_b, action_id=action.pk),
        ]
    )
    done = [r for r in results if isinstance(r, OpsAction)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(done) == 1 and len(refused) == 2, results
    assert {r.code for r in refused} == {"action_executed"}
    assert OutboxMessage.objects.filter(action=action).count() == 1
    assert MerchantControl.objects.filter(merchant_id="m_exec").count() == 1
    ran = AuditEntry.objects.filter(action_id=action.pk, event=AuditEvent.EXECUTED)
    assert ran.count() == 1
    assert audit_verify().ok


def test_simultaneous_duplicate_requests_create_one_open_action(ops_admin, approver_b, pay_admin):
    users = [ops_admin, approver_b, pay_admin]
    results = race(
        [
            (
                lambda u=u: services.action_create(
                    actor=u, action_type="PAUSE_PAYOUT", target="region:SN", params={}, reason="dup"
                )
            )
            for u in users
        ]
    )
    assert sum(isinstance(r, OpsAction) for r in results) == 1
    assert all(r.code == "open_action_exists" for r in results if isinstance(r, Exception))
    assert OpsAction.objects.filter(target="region:SN").count() == 1
