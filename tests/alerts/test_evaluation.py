"""Rule evaluation: pending for `for`, firing once per series, resolution, NoData,
inhibition, overrides; one alert per (rule, series)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from alerts import services
from alerts.evaluation import evaluate_rule
from alerts.models import Alert, AlertRule, RuleSeriesState, SeriesTransition
from alerts.overrides import register_threshold_source, unregister_threshold_source
from tests.alerts.helpers import bank_payouts, hour, merchant_traffic

pytestmark = pytest.mark.django_db


@pytest.fixture
def fraud_rule():
    return AlertRule.objects.get(key="fraud_rate_bps.max")


def test_breach_fires_after_for_once_then_resolves(fraud_rule):
    t = hour(0) + timedelta(minutes=10)
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)  # 200 bps
    merchant_traffic("m_2", hour(0), gmv=10000, fraud_amount=50)  # 50 bps
    first = evaluate_rule(fraud_rule, now=t)
    assert (first.breaching, first.pending, first.firing) == (1, 1, 0)
    assert not Alert.objects.exists()
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=4))
    assert not Alert.objects.exists()
    fired = evaluate_rule(fraud_rule, now=t + timedelta(minutes=5))
    assert fired.firing == 1
    alert = Alert.objects.get()
    assert (alert.scope, alert.merchant_id, alert.source) == ("merchant:m_1", "m_1", "threshold")
    assert (alert.value, alert.threshold) == (Decimal(200), Decimal(150))
    assert alert.labels["merchant"] == "m_1"
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=6))
    alert.refresh_from_db()
    assert alert.occurrences == 2 and Alert.objects.count() == 1
    merchant_traffic("m_1", hour(0), gmv=90000)  # 200 / 100000 = 20 bps
    done = evaluate_rule(fraud_rule, now=t + timedelta(minutes=7))
    alert.refresh_from_db()
    assert done.resolved == 1 and alert.status == "resolved" and alert.resolved_by is None
    assert not RuleSeriesState.objects.filter(rule=fraud_rule).exists()
    path = list(
        SeriesTransition.objects.filter(series="merchant:m_1").values_list("from_state", "to_state")
    )
    assert path == [("normal", "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_breach_shorter_than_for_never_fires(fraud_rule):
    t = hour(0) + timedelta(minutes=10)
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    evaluate_rule(fraud_rule, now=t)
    merchant_traffic("m_1", hour(0), gmv=90000)
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=2))
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=10))
    assert not Alert.objects.exists()
    assert not RuleSeriesState.objects.filter(rule=fraud_rule).exists()


def test_nodata_resolves_by_default(fraud_rule):
    t = hour(0) + timedelta(minutes=10)
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    evaluate_rule(fraud_rule, now=t)
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=5))
    assert Alert.objects.get().status == "open"
    # Two hours later the window holds no row of m_1: NoData -> normal, alert resolved.
    evaluate_rule(fraud_rule, now=t + timedelta(hours=2))
    assert Alert.objects.get().status == "resolved"


def test_firing_stale_data_alert_inhibits_aggregate_rules(fraud_rule):
    stale = AlertRule.objects.get(key="snapshots.stale")
    services.alert_raise(
        source="system",
        category="system",
        severity="critical",
        scope="platform",
        title="stale",
        dedupe_key="",
        rule=stale,
    )
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    result = evaluate_rule(fraud_rule, now=hour(0) + timedelta(minutes=10))
    assert result.skipped == "inhibited by snapshots.stale"
    assert not RuleSeriesState.objects.filter(rule=fraud_rule).exists()
    float_rule = AlertRule.objects.get(key="agent_float.min")
    assert evaluate_rule(float_rule).skipped == "inhibited by snapshots.stale"
    ops_rule = AlertRule.objects.get(key="ops_approval.waiting")  # not from ingestion
    assert evaluate_rule(ops_rule).skipped == ""


def test_each_bank_rule_and_scope_override():
    rule = AlertRule.objects.get(key="payout_failure_rate.max")
    rule.for_duration = timedelta(0)
    rule.save()
    bank_payouts("b_1", hour(0), payouts=100, failed=8)  # 8%
    bank_payouts("b_2", hour(0), payouts=100, failed=3)  # 3%
    bank = lambda key: {"bank:b_1": Decimal("0.10")} if key == rule.key else {}  # noqa: E731
    platform = lambda key: {"platform": Decimal("0.02")} if key == rule.key else {}  # noqa: E731
    try:
        register_threshold_source(bank)
        evaluate_rule(rule, now=hour(0) + timedelta(minutes=1))
        assert not Alert.objects.exists()  # b_1's own threshold is 10%
        register_threshold_source(platform)
        evaluate_rule(rule, now=hour(0) + timedelta(minutes=2))
        scopes = list(Alert.objects.values_list("scope", "threshold"))
        assert scopes == [("bank:b_2", Decimal("0.02"))]
    finally:
        unregister_threshold_source(bank)
        unregister_threshold_source(platform)


def test_metrics_export_evaluation_time_and_firing_alerts(fraud_rule, api_client):
    from alerts.evaluation import evaluate_all

    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    fraud_rule.for_duration = timedelta(0)
    fraud_rule.save()
    evaluate_all(now=hour(0) + timedelta(minutes=1))
    body = api_client.get("/metrics").content.decode()
    assert 'molam_alert_rule_evaluation_seconds_count{rule="fraud_rate_bps.max"}' in body
    assert 'molam_alerts_firing{severity="critical"} 1.0' in body


def test_success_rate_drop_against_last_week_for_each_country():
    from tests.dashboard.test_snapshots_support import insert_agg

    rule = AlertRule.objects.get(key="success_rate.drop")
    rule.for_duration = timedelta(0)
    rule.save()
    week = timedelta(days=7)
    for country, now_rate in (("SN", 60), ("CI", 90)):  # last week both 95 %
        insert_agg(
            "platform", "", hour(1) - week, country=country, success_count=95, failed_count=5
        )
        insert_agg(
            "platform",
            "",
            hour(1),
            country=country,
            success_count=now_rate,
            failed_count=100 - now_rate,
        )
    evaluate_rule(rule, now=hour(0) + timedelta(minutes=1))
    alert = Alert.objects.get()
    # SN: 0.60 < 0.95 * 0.8 = 0.76; CI: 0.90 is not.
    assert (alert.scope, alert.country, alert.value) == ("region:SN", "SN", Decimal("0.6"))
    assert alert.threshold == Decimal("0.76")


def test_stale_platform_snapshot_fires_the_inhibiting_rule():
    from django.utils import timezone

    from dashboard.models import Snapshot

    rule = AlertRule.objects.get(key="snapshots.stale")
    now = timezone.now()
    Snapshot.objects.create(
        scope_kind="platform",
        scope_id="",
        period="24h",
        body="{}",
        window_to=now + timedelta(minutes=30),
        computed_at=now - timedelta(minutes=20),
    )
    evaluate_rule(rule, now=now)
    evaluate_rule(rule, now=now + timedelta(minutes=1))
    alert = Alert.objects.get(rule=rule)
    assert (alert.source, alert.scope) == ("system", "platform") and alert.value >= 1200


def test_zscore_rule_fires_on_a_jump_from_the_series_own_history(ops_admin):
    rule = AlertRule.objects.create(
        key="fraud_rate_bps.zscore",
        name="Fraud rate jump",
        metric="fraud_rate_bps",
        scope="each:merchant",
        comparator="gt",
        threshold=Decimal(3),
        baseline="zscore_28d",
        severity="warning",
        category="fraud",
    )
    for n in range(3, 27):  # 10 and 30 bps in turn: mean 20, spread ~10
        for merchant in ("m_1", "m_2"):
            merchant_traffic(merchant, hour(n), gmv=100000, fraud_amount=100 if n % 2 else 300)
    merchant_traffic("m_1", hour(1), gmv=100000, fraud_amount=2000)  # 200 bps
    merchant_traffic("m_2", hour(1), gmv=100000, fraud_amount=250)  # 25 bps: usual
    evaluate_rule(rule, now=hour(0) + timedelta(minutes=1))
    alert = Alert.objects.get()
    assert alert.scope == "merchant:m_1" and Decimal(45) < alert.threshold < Decimal(56)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(ops_admin)
    answer = client.post(f"/api/dashboard/alerts/rules/{rule.pk}/preview", {}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "backtest_unavailable"


def test_alert_resolved_by_hand_while_breaching_fires_again_after_for(fraud_rule, ops_admin):
    t = hour(0) + timedelta(minutes=10)
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    evaluate_rule(fraud_rule, now=t)
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=5))
    first = Alert.objects.get()
    services.alert_resolve(actor=ops_admin, alert_id=first.pk, now=t + timedelta(minutes=6))
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=7))  # pending again
    assert Alert.objects.count() == 1
    evaluate_rule(fraud_rule, now=t + timedelta(minutes=12))
    assert Alert.objects.filter(status="open").exclude(pk=first.pk).count() == 1
