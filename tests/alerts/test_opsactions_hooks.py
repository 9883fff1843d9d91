"""What opsactions registers into alerts: approver e-mails, the waiting-approval rule,
ADJUST_THRESHOLD overrides used by evaluation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.choices import Role
from alerts.evaluation import evaluate_rule
from alerts.models import Alert, AlertRule
from opsactions import services as ops
from opsactions.models import ThresholdOverride
from tests.alerts.helpers import hour, merchant_traffic
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {
        "requester": make_user("req", Role.OPS_ADMIN, email="req@molam.example"),
        "pay": make_user("pay", Role.PAY_ADMIN, email="pay@molam.example"),
        "fin": make_user("fin", Role.FINANCE_OPS, email="fin@molam.example"),
        "region_ml": make_user("ml", Role.OPS_ADMIN, "region:ML", email="ml@molam.example"),
        "merchant": make_user("m", Role.MERCHANT_ADMIN, "merchant:m_1", email="m@x.example"),
    }


def _route_payout(actor):
    return ops.action_create(
        actor=actor,
        action_type="ROUTE_PAYOUT",
        target="region:SN",
        params={"bank_id": "b_2"},
        reason="bank b_1 failing",
    )


def test_eligible_approvers_are_emailed_when_an_action_awaits_them(
    people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        action = _route_payout(people["requester"])
    assert action.status == "pending_approval"
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["fin@molam.example", "pay@molam.example"]
    assert f"#{action.pk}" in mail.outbox[0].subject


def test_high_risk_action_waiting_over_15_minutes_fires_the_default_rule(people):
    action = _route_payout(people["requester"])
    rule = AlertRule.objects.get(key="ops_approval.waiting")
    evaluate_rule(rule, now=action.created_at + timedelta(minutes=14))
    assert not Alert.objects.filter(rule=rule).exists()
    evaluate_rule(rule, now=action.created_at + timedelta(minutes=16))
    alert = Alert.objects.get(rule=rule)
    assert (alert.source, alert.scope, alert.category) == ("system", "platform", "system")
    assert alert.value >= 960


def test_adjust_threshold_override_applies_to_its_scope(people):
    action = _route_payout(people["requester"])  # any action: the row's provenance
    ThresholdOverride.objects.create(
        scope="merchant:m_1",
        key="fraud_rate_bps.max",
        value=Decimal(500),
        action=action,
        updated_at=timezone.now(),
    )
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    rule.for_duration = timedelta(0)
    rule.save()
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    merchant_traffic("m_2", hour(0), gmv=10000, fraud_amount=200)
    evaluate_rule(rule, now=hour(0) + timedelta(minutes=1))
    assert list(Alert.objects.values_list("scope", flat=True)) == ["merchant:m_2"]
