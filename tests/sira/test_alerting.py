"""Alerts: high and critical recommendations raise one (source sira) through the alerts
service; auto-remediation is announced; the threshold backtest counts the alerts the
proposed value would have fired, against an independent count."""

from decimal import Decimal

import pytest

from agents.models import Agent
from alerts.models import Alert, AlertRule
from sira import services
from sira.autoremediation import policy_update
from sira.choices import Origin
from tests.alerts.helpers import hour, merchant_traffic
from tests.sira.conftest import payload

URL = "/api/dashboard/sira/recommendations"
pytestmark = pytest.mark.django_db


def _take(capture, **over):
    with capture(execute=True):
        rec, _ = services.recommendation_ingest(data=payload(**over), origin=Origin.API)
    return rec


def test_high_and_critical_raise_one_alert_per_type_and_target(
    django_capture_on_commit_callbacks,
):
    _take(django_capture_on_commit_callbacks, priority="medium")
    assert not Alert.objects.exists()
    rec = _take(django_capture_on_commit_callbacks, priority="high")
    alert = Alert.objects.get()
    assert (alert.source, alert.severity, alert.category) == ("sira", "warning", "fraud")
    assert alert.scope == "merchant:m_1042" and alert.labels["recommendation"] == str(rec.pk)
    assert alert.message == "Chargebacks tripled in 48 h"
    _take(django_capture_on_commit_callbacks, priority="critical")
    alert.refresh_from_db()
    assert Alert.objects.count() == 1 and alert.occurrences == 2
    _take(django_capture_on_commit_callbacks, priority="critical", target="merchant:m_2")
    assert Alert.objects.count() == 2


def test_auto_remediation_is_announced(sira_service, django_capture_on_commit_callbacks):
    Agent.objects.create(agent_id="a_1", country="SN", currency="XOF")
    policy_update(
        actor=None, enabled=True, dry_run=False, action_types=["FREEZE_AGENT"], min_confidence="0.9"
    )
    _take(
        django_capture_on_commit_callbacks,
        type="freeze_agent",
        target="agent:a_1",
        confidence=0.99,
        action={"action_type": "FREEZE_AGENT", "params": {"reason_code": "fraud_suspected"}},
    )
    alert = Alert.objects.get(title__startswith="Auto-remediation")
    assert alert.source == "sira" and alert.scope == "agent:a_1"


def _episodes(bps_by_hour, threshold):
    """Independent count: maximal runs of consecutive hours above the threshold."""
    runs, previous = 0, None
    for h in sorted(bps_by_hour, reverse=True):  # oldest first (hours ago)
        above = bps_by_hour[h] > threshold
        if above and not (previous is not None and previous == h + 1):
            runs += 1
        previous = h if above else None
    return runs


def test_threshold_backtest_counts_the_alerts_of_the_proposed_value(
    client_for, ops_admin, make_rec
):
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    m1 = {30: 200, 29: 300, 28: 10, 5: 160, 4: 95, 3: 140}
    m2 = {29: 100, 10: 120}
    for merchant, series in (("m_1", m1), ("m_2", m2)):
        for h, bps in series.items():
            merchant_traffic(merchant, hour(h), gmv=10000, fraud_amount=bps)
    rec = make_rec(
        type="adjust_threshold",
        target="platform",
        action={
            "action_type": "ADJUST_THRESHOLD",
            "params": {"key": "fraud_rate_bps.max", "value": "90"},
        },
    )
    backtest = client_for(ops_admin).get(f"{URL}/{rec.pk}/impact").json()["backtest"]
    assert backtest["alerts"] == _episodes(m1, 90) + _episodes(m2, 90) == 4
    current = rule.threshold
    assert backtest["current_alerts"] == _episodes(m1, current) + _episodes(m2, current)
    assert Decimal(backtest["proposed_threshold"]) == 90
    one = make_rec(
        type="adjust_threshold",
        target="merchant:m_2",
        action={
            "action_type": "ADJUST_THRESHOLD",
            "params": {"key": "fraud_rate_bps.max", "value": "90"},
        },
    )
    backtest = client_for(ops_admin).get(f"{URL}/{one.pk}/impact").json()["backtest"]
    assert backtest["series"] == "merchant:m_2" and backtest["alerts"] == _episodes(m2, 90) == 2
    missing = make_rec(
        type="adjust_threshold",
        target="platform",
        action={"action_type": "ADJUST_THRESHOLD", "params": {"key": "no.such", "value": "1"}},
    )
    body = client_for(ops_admin).get(f"{URL}/{missing.pk}/impact").json()["backtest"]
    assert body["available"] is False
