"""Auto-remediation: off by default, low risk only, a distinct audited principal, an hourly
limit, a dry run and a kill switch."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent
from common.errors import ValidationFailed
from opsactions import services as ops
from opsactions.choices import ActionStatus
from opsactions.models import AuditEntry, OpsAction
from sira.autoremediation import auto_remediate, policy_update
from sira.choices import RecStatus
from sira.models import AutoRemediationPolicy, RecommendationAudit

pytestmark = pytest.mark.django_db


def _freeze(make_rec, agent="a_1", confidence=0.99):
    return make_rec(
        type="freeze_agent",
        target=f"agent:{agent}",
        confidence=confidence,
        action={"action_type": "FREEZE_AGENT", "params": {"reason_code": "fraud_suspected"}},
    )


@pytest.fixture
def agents(db):
    for agent_id in ("a_1", "a_2", "a_3"):
        Agent.objects.create(agent_id=agent_id, country="SN", currency="XOF")


@pytest.fixture
def live_policy(sira_service, agents):
    return policy_update(
        actor=None,
        enabled=True,
        dry_run=False,
        action_types=["FREEZE_AGENT"],
        min_confidence="0.9",
        max_per_hour=2,
    )


def _skips(rec):
    return list(rec.audit.filter(event="auto_skipped").values_list("after__reason", flat=True))


def test_off_by_default(make_rec, sira_service, agents):
    rec = _freeze(make_rec)
    assert auto_remediate(rec.pk) is None
    assert not OpsAction.objects.exists()
    assert AutoRemediationPolicy.objects.count() == 0


def test_applies_low_risk_through_a_distinct_audited_principal(
    make_rec, live_policy, sira_service, ops_admin, approver_b, django_capture_on_commit_callbacks
):
    rec = _freeze(make_rec)
    with django_capture_on_commit_callbacks(execute=True):
        action = auto_remediate(rec.pk)
    assert action.status == ActionStatus.EXECUTED
    assert action.requested_by == sira_service
    principal = action.executed_by
    assert principal.username == "sira-auto-remediation" and principal != sira_service
    assert not principal.has_usable_password()
    assert list(action.approvals.values_list("approver__username", flat=True)) == [
        "sira-auto-remediation"
    ]
    trail = AuditEntry.objects.filter(action_id=action.pk)
    events = dict(trail.values_list("event", "actor_username"))
    assert events["approval"] == events["executed"] == "sira-auto-remediation"
    assert events["requested"] == "sira"
    rec.refresh_from_db()
    assert rec.status == RecStatus.APPLIED and rec.auto_applied
    assert rec.audit.filter(event="auto_applied", actor_label="auto-remediation policy").exists()
    # People roll it back (two of them).
    ops.action_rollback(actor=ops_admin, action_id=action.pk, reason="false positive")
    done = ops.action_rollback(actor=approver_b, action_id=action.pk, reason="confirmed")
    assert done.status == ActionStatus.ROLLED_BACK


def test_never_above_low_risk_even_if_the_policy_row_says_so(make_rec, live_policy):
    with pytest.raises(ValidationFailed):
        policy_update(actor=None, action_types=["SET_HOLD"])
    AutoRemediationPolicy.objects.filter(pk=1).update(action_types=["SET_HOLD", "FREEZE_AGENT"])
    hold = make_rec(confidence=0.99)
    assert auto_remediate(hold.pk) is None
    assert _skips(hold) == ["not_low_risk"]
    assert not OpsAction.objects.exists()


def test_hourly_limit_confidence_dry_run_and_kill_switch(make_rec, live_policy):
    low = _freeze(make_rec, "a_1", confidence=0.5)
    assert auto_remediate(low.pk) is None and _skips(low) == ["confidence_below_minimum"]
    first, second, third = (_freeze(make_rec, a) for a in ("a_1", "a_2", "a_3"))
    assert auto_remediate(first.pk).status == ActionStatus.EXECUTED
    assert auto_remediate(second.pk).status == ActionStatus.EXECUTED
    assert auto_remediate(third.pk) is None and _skips(third) == ["hourly_limit"]
    policy_update(actor=None, max_per_hour=10, dry_run=True)
    assert auto_remediate(third.pk) is None
    assert third.audit.filter(event="auto_dry_run").exists()
    call_command("sira_autoremediation", "--kill", "--dry-run", "off", "--by", "ops")
    assert auto_remediate(third.pk) is None and _skips(third)[-1] == "kill_switch"
    assert OpsAction.objects.count() == 2
    changes = RecommendationAudit.objects.filter(event="policy_changed", recommendation=None)
    last = changes.last()
    assert last.after["killed"] is True and last.actor_label == "manage.py (ops)"
    with pytest.raises(CommandError):
        call_command("sira_autoremediation", "--types", "ROUTE_PAYOUT")
    assert Decimal(AutoRemediationPolicy.objects.get().min_confidence) == Decimal("0.9")
