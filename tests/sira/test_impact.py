"""Impact backtest: figures equal an independent computation on constructed aggregates."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.sira.aggregates import agg, write

URL = "/api/dashboard/sira/recommendations"
pytestmark = pytest.mark.django_db


def _hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def test_hold_backtest_equals_percent_of_settled_volume(client_for, ops_admin, make_rec):
    end = _hour()
    gmv = {}  # hours ago -> (currency, amount)
    rows = []
    for hours_ago, currency, amount in [
        (1, "XOF", "10000.50"),
        (30, "XOF", "250000"),
        (24 * 10, "XOF", "99999.9999"),
        (24 * 29, "EUR", "1200.25"),
        (24 * 31, "XOF", "5000000"),  # before the window: not counted
        (0, "XOF", "777"),  # the current hour: not counted
    ]:
        gmv[hours_ago] = (currency, Decimal(amount))
        rows.append(
            agg(
                end - timedelta(hours=hours_ago),
                "merchant",
                "m_1042",
                currency=currency,
                gmv=amount,
            )
        )
    rows.append(agg(end - timedelta(hours=2), "merchant", "m_other", gmv="123456"))
    write(rows)
    rec = make_rec(action={"action_type": "SET_HOLD", "params": {"percent": "20", "days": 7}})
    body = client_for(ops_admin).get(f"{URL}/{rec.pk}/impact").json()
    assert body["sira_estimate"]["cost_savings"] == {"amount": "1500000", "currency": "XOF"}
    got = {r["currency"]: r for r in body["backtest"]["by_currency"]}
    # Independent computation: 30 days = hours 1..720 ago; 7 days = hours 1..168 ago.
    for currency in ("XOF", "EUR"):
        settled = sum(a for h, (c, a) in gmv.items() if c == currency and 1 <= h <= 720)
        recent = sum(a for h, (c, a) in gmv.items() if c == currency and 1 <= h <= 168)
        assert Decimal(got[currency]["settled"]) == settled
        assert Decimal(got[currency]["would_have_held"]) == (settled * Decimal("0.2")).quantize(
            Decimal("0.0001")
        )
        assert Decimal(got[currency]["held_at_window_end"]) == (recent * Decimal("0.2")).quantize(
            Decimal("0.0001")
        )


def test_route_backtest_equals_failures_against_the_new_banks_rate(client_for, ops_admin, make_rec):
    end = _hour()
    # bank -> (completed, failed) split over two hours; b_ci is in another country.
    data = {"b_good": (190, 10), "b_bad": (140, 60), "b_mid": (95, 5)}
    rows = []
    for bank, (ok, failed) in data.items():
        rows.append(
            agg(
                end - timedelta(hours=3),
                "bank",
                bank,
                payouts_count=ok - 5,
                payouts_failed_count=failed - 1,
            )
        )
        rows.append(
            agg(end - timedelta(days=20), "bank", bank, payouts_count=5, payouts_failed_count=1)
        )
    rows.append(
        agg(
            end - timedelta(hours=3),
            "bank",
            "b_ci",
            country="CI",
            payouts_count=1,
            payouts_failed_count=99,
        )
    )
    write(rows)
    rec = make_rec(
        type="route_payout",
        target="region:SN",
        action={"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_good"}},
    )
    backtest = client_for(ops_admin).get(f"{URL}/{rec.pk}/impact").json()["backtest"]
    rate = Decimal(10) / Decimal(200)
    moved = (140 + 60) + (95 + 5)
    failed = 60 + 5
    assert backtest["new_bank"] == {
        "bank_id": "b_good",
        "payouts": 200,
        "failed": 10,
        "failure_rate": "0.05",
    }
    assert backtest["moved_payouts"] == moved and backtest["failed_at_old_banks"] == failed
    assert Decimal(backtest["expected_failures_at_new_bank"]) == moved * rate
    assert Decimal(backtest["failures_avoided"]) == failed - moved * rate
    assert {b["bank_id"] for b in backtest["other_banks"]} == {"b_bad", "b_mid"}


def test_backtest_without_data_says_so(client_for, ops_admin, make_rec):
    rec = make_rec(
        type="route_payout",
        target="region:SN",
        action={"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_none"}},
    )
    backtest = client_for(ops_admin).get(f"{URL}/{rec.pk}/impact").json()["backtest"]
    assert backtest["available"] is False
    assert backtest["new_bank"]["failure_rate"] is None
