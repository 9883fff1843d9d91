"""Races on the real database: threads with their own connections hit the same action.

Each thread waits at a barrier so the calls really overlap; the row lock
(select_for_update) and the unique constraints must make the outcome exact.
"""

import threading

import pytest
from django.db import connection

from accounts.choices import Role
from common.errors import Conflict, DomainError
from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, AuditEvent
from opsactions.models import AuditEntry, MerchantControl, OpsAction, OpsApproval, OutboxMessage
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    """Run each callable in its own thread, released together; returns results/exceptions."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


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
    started = AuditEntry.objects.filter(action_id=action.pk, event=AuditEvent.EXECUTION_STARTED)
    assert started.count() == 1
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
