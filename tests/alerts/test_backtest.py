"""rule_backtest: which series would have fired and when, from the aggregates."""

from datetime import timedelta
from decimal import Decimal

import pytest

from alerts.models import AlertRule
from alerts.selectors import rule_backtest
from tests.alerts.helpers import hour, merchant_traffic

pytestmark = pytest.mark.django_db


@pytest.fixture
def fraud_rule():
    return AlertRule.objects.get(key="fraud_rate_bps.max")


def test_backtest_finds_each_episode_with_for_and_peak(fraud_rule):
    merchant_traffic("m_1", hour(5), gmv=10000, fraud_amount=200)
    merchant_traffic("m_1", hour(4), gmv=10000, fraud_amount=300)
    merchant_traffic("m_1", hour(3), gmv=10000, fraud_amount=10)
    merchant_traffic("m_1", hour(1), gmv=10000, fraud_amount=160)
    merchant_traffic("m_2", hour(4), gmv=10000, fraud_amount=100)
    found = rule_backtest(fraud_rule, start=hour(6), end=hour(0))
    assert found == [
        {
            "scope": "merchant:m_1",
            "fired_at": hour(5) + timedelta(minutes=5),
            "resolved_at": hour(3),
            "peak": Decimal(300),
        },
        {
            "scope": "merchant:m_1",
            "fired_at": hour(1) + timedelta(minutes=5),
            "resolved_at": None,
            "peak": Decimal(160),
        },
    ]
    assert [
        f["scope"]
        for f in rule_backtest(fraud_rule, start=hour(6), end=hour(0), threshold=Decimal(90))
    ] == ["merchant:m_1", "merchant:m_2", "merchant:m_1"]
    assert rule_backtest(fraud_rule, start=hour(6), end=hour(0), threshold=Decimal(500)) == []
    assert rule_backtest(fraud_rule, start=hour(6), end=hour(0), scope="merchant:m_2") == []


def test_backtest_ignores_breaches_shorter_than_for(fraud_rule):
    fraud_rule.for_duration = timedelta(hours=2)
    fraud_rule.save()
    merchant_traffic("m_1", hour(5), gmv=10000, fraud_amount=200)  # one hour only
    merchant_traffic("m_1", hour(3), gmv=10000, fraud_amount=200)
    merchant_traffic("m_1", hour(2), gmv=10000, fraud_amount=200)
    found = rule_backtest(fraud_rule, start=hour(6), end=hour(0))
    assert [(f["fired_at"], f["resolved_at"]) for f in found] == [(hour(1), hour(1))]


def test_backtest_scope_platform_means_every_series_and_a_foreign_kind_is_refused(fraud_rule):
    from common.errors import ValidationFailed

    merchant_traffic("m_1", hour(3), gmv=10000, fraud_amount=300)
    every = rule_backtest(fraud_rule, start=hour(6), end=hour(0))
    assert rule_backtest(fraud_rule, start=hour(6), end=hour(0), scope="platform") == every
    assert len(every) == 1
    with pytest.raises(ValidationFailed):
        rule_backtest(fraud_rule, start=hour(6), end=hour(0), scope="bank:b_1")
