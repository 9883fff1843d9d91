"""Racing transitions on the real database (threads with their own connections, tests/race.py):
one consistent outcome, the effect at most once.
"""

import pytest
from django.db import connection

from opsactions import services
from opsactions.audit import audit_verify
from opsactions.choices import ActionStatus, AuditEvent
from opsactions.models import (
    AuditEntry,
    MerchantControl,
    OutboxMessage,
)
from tests.opsactions.adversary import (
    approve_all,
    create,
    events,
)
from tests.race import race

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_racing_veto_and_final_approval_leave_one_consistent_outcome(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"])
    results = race(
        [
            lambda: services.action_approve(actor=crew["pay1"], action_id=action.pk),
            lambda: services.action_reject(actor=crew["pay2"], action_id=action.pk, reason="veto"),
            lambda: services.action_cancel(actor=crew["ops1"], action_id=action.pk),
        ]
    )
    action.refresh_from_db()
    trail = events(action)
    # The veto and the quorum exclude each other; a cancel may follow either but a veto.
    assert not (AuditEvent.APPROVED in trail and AuditEvent.REJECTED in trail), results
    assert action.status in (ActionStatus.APPROVED, ActionStatus.REJECTED, ActionStatus.CANCELLED)
    last = AuditEntry.objects.filter(action_id=action.pk).order_by("-seq").first()
    assert last.after["status"] == action.status
    assert trail.count(AuditEvent.APPROVAL) == action.approvals.count()
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_racing_execute_cancel_and_rollback_run_the_effect_at_most_once(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"], crew["pay1"])
    results = race(
        [
            lambda: services.action_execute(actor=crew["pay2"], action_id=action.pk),
            lambda: services.action_execute(actor=crew["ops3"], action_id=action.pk),
            lambda: services.action_cancel(actor=crew["ops1"], action_id=action.pk),
            lambda: services.action_rollback(actor=crew["ops2"], action_id=action.pk, reason="r"),
        ]
    )
    action.refresh_from_db()
    execute_wins = [r for r in results[:2] if not isinstance(r, Exception)]
    assert len(execute_wins) <= 1
    outbox = OutboxMessage.objects.filter(action=action, phase="execute").count()
    if action.status == ActionStatus.CANCELLED:
        assert not execute_wins and outbox == 0 and not MerchantControl.objects.exists()
    else:
        assert outbox == 1 and events(action).count(AuditEvent.EXECUTED) == 1
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_racing_last_vote_and_expiry_task(crew):
    action = approve_all(create(crew["ops1"]), crew["ops2"])
    with connection.cursor() as cur:
        cur.execute("UPDATE opsactions_opsaction SET expires_at = now() WHERE id = %s", [action.pk])
    results = race(
        [
            lambda: services.action_approve(actor=crew["pay1"], action_id=action.pk),
            lambda: services.actions_expire_pending(),
        ]
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED, results
    assert events(action).count(AuditEvent.EXPIRED) == 1
    assert action.approvals.count() == 1
