"""Impact backtest: what a recommendation's action would have changed over the last 30
days, computed from the hourly aggregates (dashboard_hourly_aggregate).

- SET_HOLD on merchant:X: the merchant's settled volume (gmv) per currency, and what the
  hold would have held (percent of it, or the fixed amount at most the volume), plus what
  would still be held at the window's end (the last `days` days' share).
- ROUTE_PAYOUT on region:CC to bank B: payouts and failures per bank of CC; the failures
  at the other banks against B's failure rate applied to their payouts.
"""

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Sum
from django.utils import timezone

from dashboard.models.aggregates import HourlyAggregate
from opsactions.choices import ActionType

WINDOW_DAYS = 30
_Q = Decimal("0.0001")


def window(now=None):
    """[start, end): the 30 days ending at the current hour."""
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=WINDOW_DAYS), end


def _text(value):
    if value is None:
        return None
    text = format(value.quantize(_Q, rounding=ROUND_HALF_EVEN), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _gmv_by_currency(merchant_id, start, end):
    rows = (
        HourlyAggregate.objects.filter(
            scope_kind="merchant", scope_id=merchant_id, bucket__gte=start, bucket__lt=end
        )
        .values("currency")
        .annotate(gmv=Sum("gmv"))
        .order_by("currency")
    )
    return {r["currency"]: r["gmv"] or Decimal(0) for r in rows if r["currency"]}


def hold_backtest(merchant_id, params, start, end):
    """What a settlement hold on the merchant would have held over [start, end)."""
    days = int(params["days"])
    settled = _gmv_by_currency(merchant_id, start, end)
    recent = _gmv_by_currency(merchant_id, max(start, end - timedelta(days=days)), end)
    rows = []
    for currency, gmv in settled.items():
        if params["kind"] == "percent":
            share = Decimal(params["percent"]) / 100
            held = gmv * share
            at_end = recent.get(currency, Decimal(0)) * share
        elif currency == params.get("currency"):
            held = min(Decimal(params["amount"]), gmv)
            at_end = min(Decimal(params["amount"]), recent.get(currency, Decimal(0)))
        else:
            held = at_end = Decimal(0)
        rows.append(
            {
                "currency": currency,
                "settled": _text(gmv),
                "would_have_held": _text(held),
                "held_at_window_end": _text(at_end),
            }
        )
    return {"available": True, "kind": params["kind"], "days": days, "by_currency": rows}


def route_backtest(country, bank_id, start, end):
    """Failed payouts at the country's other banks against the new bank's failure rate."""
    rows = (
        HourlyAggregate.objects.filter(
            scope_kind="bank", country=country, bucket__gte=start, bucket__lt=end
        )
        .values("scope_id")
        .annotate(ok=Sum("payouts_count"), failed=Sum("payouts_failed_count"))
        .order_by("scope_id")
    )
    banks = {r["scope_id"]: (int(r["ok"] or 0), int(r["failed"] or 0)) for r in rows}
    new_ok, new_failed = banks.pop(bank_id, (0, 0))
    new_attempts = new_ok + new_failed
    rate = Decimal(new_failed) / Decimal(new_attempts) if new_attempts else None
    old_attempts = sum(ok + failed for ok, failed in banks.values())
    old_failed = sum(failed for _ok, failed in banks.values())
    expected = None if rate is None else Decimal(old_attempts) * rate
    return {
        "available": rate is not None,
        "country": country,
        "new_bank": {
            "bank_id": bank_id,
            "payouts": new_attempts,
            "failed": new_failed,
            "failure_rate": _text(rate),
        },
        "other_banks": [
            {
                "bank_id": bank,
                "payouts": ok + failed,
                "failed": failed,
                "failure_rate": _text(Decimal(failed) / (ok + failed)) if ok + failed else None,
            }
            for bank, (ok, failed) in sorted(banks.items())
        ],
        "moved_payouts": old_attempts,
        "failed_at_old_banks": old_failed,
        "expected_failures_at_new_bank": _text(expected),
        "failures_avoided": None if expected is None else _text(Decimal(old_failed) - expected),
    }


# Extra backtests registered by other parts of this app (the threshold backtest).
BACKTESTS = {}


def recommendation_impact(rec, *, now=None):
    """The backtest of `rec`'s action beside SIRA's own estimate."""
    start, end = window(now)
    params = rec.action_params
    if rec.action_type == ActionType.SET_HOLD:
        backtest = hold_backtest(rec.target_id, params, start, end)
    elif rec.action_type == ActionType.ROUTE_PAYOUT:
        backtest = route_backtest(rec.target_id, params["bank_id"], start, end)
    elif rec.action_type in BACKTESTS:
        backtest = BACKTESTS[rec.action_type](rec, start, end)
    else:
        backtest = {"available": False, "detail": "No backtest for this action type."}
    return {
        "recommendation": rec.pk,
        "action_type": rec.action_type,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "backtest": backtest,
        "sira_estimate": rec.impact,
    }
