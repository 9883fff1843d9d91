"""FREEZE_AGENT / UNFREEZE_AGENT / ADJUST_AGENT_FLOAT_LIMIT go through agents.services."""

from decimal import Decimal

import pytest

from agents.models import Agent
from common.errors import NotAllowed
from opsactions import services
from opsactions.choices import ActionStatus
from opsactions.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_sn(db):
    return Agent.objects.create(
        agent_id="a_sn1", country="SN", currency="XOF", float_limit=Decimal("100000")
    )


def run(request_action, requester, voters, executor, *args, **kw):
    action = request_action(requester, *args, **kw)
    for voter in voters:
        services.action_approve(actor=voter, action_id=action.pk)
    return services.action_execute(actor=executor, action_id=action.pk)


def test_freeze_agent_sets_status_and_rollback_restores(
    agent_sn, ops_admin, approver_b, request_action
):
    action = run(
        request_action, ops_admin, [approver_b], ops_admin, "FREEZE_AGENT", target="agent:a_sn1"
    )
    assert action.status == ActionStatus.EXECUTED and action.risk_level == "low"
    agent_sn.refresh_from_db()
    assert agent_sn.status == "frozen"
    assert action.result == {"before": {"status": "active"}, "after": {"status": "frozen"}}
    services.action_rollback(actor=ops_admin, action_id=action.pk, reason="cleared")
    services.action_rollback(actor=approver_b, action_id=action.pk, reason="agreed")
    agent_sn.refresh_from_db()
    assert agent_sn.status == "active"


def test_unfreeze_of_active_agent_fails_without_effect(
    agent_sn, ops_admin, approver_b, pay_admin, request_action
):
    action = run(
        request_action,
        ops_admin,
        [approver_b, pay_admin],
        ops_admin,
        "UNFREEZE_AGENT",
        target="agent:a_sn1",
        params={},
    )
    assert action.status == ActionStatus.FAILED and "not frozen" in action.error
    assert not OutboxMessage.objects.filter(action=action).exists()


def test_unknown_agent_fails_the_action(ops_admin, approver_b, request_action):
    action = run(
        request_action, ops_admin, [approver_b], ops_admin, "FREEZE_AGENT", target="agent:a_nobody"
    )
    assert action.status == ActionStatus.FAILED and "not found" in action.error


def test_adjust_float_limit_and_rollback(
    agent_sn, ops_admin, approver_b, finance_ops, request_action
):
    action = run(
        request_action,
        finance_ops,
        [approver_b, ops_admin],
        ops_admin,
        "ADJUST_AGENT_FLOAT_LIMIT",
        target="agent:a_sn1",
        params={"float_limit": "250000.50", "currency": "XOF"},
    )
    assert action.status == ActionStatus.EXECUTED, action.error
    agent_sn.refresh_from_db()
    assert agent_sn.float_limit == Decimal("250000.50")
    services.action_rollback(actor=ops_admin, action_id=action.pk, reason="too high")
    services.action_rollback(actor=approver_b, action_id=action.pk, reason="agreed")
    agent_sn.refresh_from_db()
    assert agent_sn.float_limit == Decimal("100000")


def test_region_staff_may_act_on_agents_of_their_country(agent_sn, region_sn, request_action):
    Agent.objects.create(agent_id="a_ci1", country="CI")
    action = request_action(region_sn, "FREEZE_AGENT", target="agent:a_sn1")
    assert action.target_country == "SN"
    with pytest.raises(NotAllowed):
        request_action(region_sn, "FREEZE_AGENT", target="agent:a_ci1")
