"""The built-in advisor (model `baseline`): explained recommendations from our own
aggregates for when SIRA is silent, run hourly by beat. Three cases:

1. Agent float depletion: the agent's hourly net cash-out (cash_out - cash_in: the cash it
   pays out) over the last 7 days gives a mean per hour of day (same-hour seasonality);
   stepping the current float down hour by hour gives the hours to zero. Within
   FLOAT_HORIZON_H it proposes ADJUST_AGENT_FLOAT_LIMIT to cover the next 48 h.
2. Merchant fraud-rate z-score: the last 24 h's fraud rate (fraud_amount / gmv, per
   currency) against the merchant's daily rates of the 30 days before; z >= FRAUD_Z
   proposes a 20 % settlement hold for 7 days.
3. Bank payout-failure concentration: over the last 24 h, in one country, a bank holding
   at least half of the failed payouts with a failure rate at least twice the best bank's
   proposes routing the country's payouts to the best bank (least failures, enough volume).

Windows are whole past hours ending at the current hour. Statistics (rates, z-scores)
are floats; amounts stay Decimal.
"""

import math
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from agents.choices import AgentStatus
from agents.models import Agent
from dashboard.models.aggregates import HourlyAggregate
from sira.choices import Origin, RecStatus
from sira.models import Recommendation

MODEL = {"name": "baseline", "version": "1"}
FLOAT_HORIZON_H = 24
FLOAT_COVER_H = 48
FRAUD_Z = 3.0
FRAUD_BASELINE_MIN_DAYS = 7
BANK_MIN_PAYOUTS = 20
BANK_MIN_SHARE = 0.5
BANK_RATE_FACTOR = 2.0
VALID_HOURS = 6


def _hour(now):
    return (now or timezone.now()).replace(minute=0, second=0, microsecond=0)


def _rate_text(value):
    return f"{value:.4f}"


def _conf(value):
    return round(max(0.0, min(1.0, value)), 4)


# ---------------------------------------------------------------- 1. float depletion


def float_profile(agent_id, end):
    """Mean net cash-out per hour of day over the 7 days before `end` (missing hours: 0),
    and how many of the 168 hours had activity."""
    start = end - timedelta(days=7)
    rows = (
        HourlyAggregate.objects.filter(
            scope_kind="agent", scope_id=agent_id, bucket__gte=start, bucket__lt=end
        )
        .values("bucket")
        .annotate(out=Sum("cash_out_amount"), inn=Sum("cash_in_amount"))
    )
    totals = [Decimal(0)] * 24
    seen = 0
    for row in rows:
        totals[row["bucket"].hour] += (row["out"] or 0) - (row["inn"] or 0)
        seen += 1
    return [t / 7 for t in totals], seen


def hours_to_zero(balance, profile, start_hour, horizon):
    """Hours until the float reaches zero stepping the hourly profile from `start_hour`;
    None if it does not within `horizon`."""
    if balance <= 0:
        return 0
    for k in range(horizon):
        balance -= profile[(start_hour + k) % 24]
        if balance <= 0:
            return k + 1
    return None


def _float_case(now):
    end = _hour(now)
    out = []
    agents = Agent.objects.exclude(currency="").filter(status=AgentStatus.ACTIVE)
    for agent in agents.only("agent_id", "currency", "float_balance", "float_limit"):
        profile, seen = float_profile(agent.agent_id, end)
        if not seen:
            continue
        hours = hours_to_zero(agent.float_balance, profile, end.hour, FLOAT_HORIZON_H)
        if hours is None:
            continue
        need = sum(max(profile[(end.hour + k) % 24], Decimal(0)) for k in range(FLOAT_COVER_H))
        need = (need / 1000).to_integral_value(rounding=ROUND_CEILING) * 1000
        if agent.float_limit is not None and need <= agent.float_limit:
            continue
        mean = sum(profile) / 24
        next24 = sum(profile[(end.hour + k) % 24] for k in range(24))
        out.append(
            {
                "type": "adjust_agent_float_limit",
                "target": f"agent:{agent.agent_id}",
                "priority": "high" if hours <= 6 else "medium" if hours <= 12 else "low",
                "confidence": _conf(0.5 + 0.4 * seen / 168),
                "action": {
                    "action_type": "ADJUST_AGENT_FLOAT_LIMIT",
                    "params": {"float_limit": str(need), "currency": agent.currency},
                },
                "explanation": {
                    "summary": f"Float reaches zero in about {hours} h at the usual hourly "
                    f"net cash-out; a limit of {need} {agent.currency} covers 48 h.",
                    "features": [
                        {"name": "hours_to_zero", "value": str(hours), "contribution": 0.5},
                        {
                            "name": "float_balance",
                            "value": str(agent.float_balance),
                            "contribution": 0.2,
                        },
                        {
                            "name": "mean_hourly_net_cash_out",
                            "value": str(mean.quantize(Decimal("0.01"))),
                            "contribution": 0.15,
                        },
                        {
                            "name": "next_24h_net_cash_out",
                            "value": str(next24.quantize(Decimal("0.01"))),
                            "contribution": 0.15,
                        },
                    ],
                },
            }
        )
    return out


# ---------------------------------------------------------------- 2. fraud z-score


def fraud_zscores(now, *, min_days=FRAUD_BASELINE_MIN_DAYS):
    """{(merchant, currency): (z, current_rate, mean, std, days)} for merchants with gmv in
    the last 24 h and at least `min_days` baseline days with gmv."""
    end = _hour(now)
    cut = end - timedelta(hours=24)
    start = cut - timedelta(days=30)
    base = (
        HourlyAggregate.objects.filter(scope_kind="merchant", bucket__gte=start, bucket__lt=cut)
        .annotate(day=TruncDate("bucket"))
        .values("scope_id", "currency", "day")
        .annotate(gmv=Sum("gmv"), fraud=Sum("fraud_amount"))
    )
    daily = defaultdict(list)
    for row in base:
        if row["gmv"]:
            daily[(row["scope_id"], row["currency"])].append(float(row["fraud"] / row["gmv"]))
    current = (
        HourlyAggregate.objects.filter(scope_kind="merchant", bucket__gte=cut, bucket__lt=end)
        .values("scope_id", "currency")
        .annotate(gmv=Sum("gmv"), fraud=Sum("fraud_amount"))
    )
    out = {}
    for row in current:
        key = (row["scope_id"], row["currency"])
        rates = daily.get(key, [])
        if not row["gmv"] or len(rates) < min_days:
            continue
        rate = float(row["fraud"] / row["gmv"])
        mean = sum(rates) / len(rates)
        std = math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates))
        if std == 0:
            z = math.inf if rate > mean else 0.0
        else:
            z = (rate - mean) / std
        out[key] = (z, rate, mean, std, len(rates))
    return out


def _fraud_case(now):
    out = []
    for (merchant, currency), (z, rate, mean, std, days) in sorted(fraud_zscores(now).items()):
        if z < FRAUD_Z:
            continue
        zt = "inf" if math.isinf(z) else f"{z:.2f}"
        out.append(
            {
                "type": "set_hold",
                "target": f"merchant:{merchant}",
                "priority": "high" if z >= 2 * FRAUD_Z else "medium",
                "confidence": _conf(1 - 1 / (1 + (z if math.isfinite(z) else 99))),
                "action": {
                    "action_type": "SET_HOLD",
                    "params": {"kind": "percent", "percent": "20", "days": 7},
                },
                "explanation": {
                    "summary": f"Fraud rate in {currency} over the last 24 h is {zt} standard "
                    f"deviations above its own 30-day baseline.",
                    "features": [
                        {"name": "fraud_rate_24h", "value": _rate_text(rate), "contribution": 0.5},
                        {
                            "name": "fraud_rate_30d_mean",
                            "value": _rate_text(mean),
                            "contribution": 0.2,
                        },
                        {
                            "name": "fraud_rate_30d_std",
                            "value": _rate_text(std),
                            "contribution": 0.1,
                        },
                        {"name": "z_score", "value": zt, "contribution": 0.2},
                        {"name": "baseline_days", "value": str(days), "contribution": 0},
                    ],
                },
            }
        )
    return out


# ---------------------------------------------------------------- 3. bank concentration


def bank_failures(now):
    """{country: {bank: (payouts, failed)}} over the last 24 h."""
    end = _hour(now)
    rows = (
        HourlyAggregate.objects.filter(
            scope_kind="bank", bucket__gte=end - timedelta(hours=24), bucket__lt=end
        )
        .values("country", "scope_id")
        .annotate(ok=Sum("payouts_count"), failed=Sum("payouts_failed_count"))
    )
    out = defaultdict(dict)
    for row in rows:
        ok, failed = int(row["ok"] or 0), int(row["failed"] or 0)
        if ok + failed:
            out[row["country"]][row["scope_id"]] = (ok + failed, failed)
    return out


def _bank_case(now):
    out = []
    for country, banks in sorted(bank_failures(now).items()):
        if country == "ZZ":
            continue
        total_failed = sum(f for _n, f in banks.values())
        eligible = {b: f / n for b, (n, f) in banks.items() if n >= BANK_MIN_PAYOUTS}
        if not total_failed or len(eligible) < 2:
            continue
        best = min(sorted(eligible), key=lambda b: eligible[b])
        worst = max(sorted(banks), key=lambda b: banks[b][1])
        share = banks[worst][1] / total_failed
        worst_rate = banks[worst][1] / banks[worst][0]
        if worst == best or share < BANK_MIN_SHARE:
            continue
        if worst_rate < BANK_RATE_FACTOR * eligible[best] or worst_rate == 0:
            continue
        out.append(
            {
                "type": "route_payout",
                "target": f"region:{country}",
                "priority": "high",
                "confidence": _conf(0.5 + 0.4 * share),
                "action": {"action_type": "ROUTE_PAYOUT", "params": {"bank_id": best}},
                "explanation": {
                    "summary": f"{worst} holds {share:.0%} of {country}'s failed payouts in "
                    f"24 h (failure rate {worst_rate:.1%}); {best} fails "
                    f"{eligible[best]:.1%}.",
                    "features": [
                        {"name": "failed_share", "value": _rate_text(share), "contribution": 0.4},
                        {
                            "name": "failure_rate_worst",
                            "value": _rate_text(worst_rate),
                            "contribution": 0.4,
                        },
                        {
                            "name": "failure_rate_best",
                            "value": _rate_text(eligible[best]),
                            "contribution": 0.2,
                        },
                    ],
                },
            }
        )
    return out


# ---------------------------------------------------------------- run


def advise(now=None):
    """Every proposal of the three cases (not yet taken in)."""
    return [*_float_case(now), *_fraud_case(now), *_bank_case(now)]


def advisor_run(now=None):
    """Take in the advisor's proposals (an identical `new` one is not proposed again);
    returns the recommendations created."""
    from sira.services import recommendation_ingest

    now = now or timezone.now()
    created = []
    for item in advise(now):
        same = Recommendation.objects.filter(
            model_name=MODEL["name"],
            rec_type=item["type"],
            target=item["target"],
            status=RecStatus.NEW,
            action_params=item["action"]["params"],
        )
        if same.exists():
            continue
        stamp = _hour(now).strftime("%Y%m%d%H")
        item = {
            **item,
            "external_id": f"baseline-{item['type']}-{item['target']}-{stamp}",
            "model": MODEL,
            "valid_until": (now + timedelta(hours=VALID_HOURS)).isoformat(),
        }
        rec, new = recommendation_ingest(data=item, origin=Origin.BASELINE, now=now)
        if new:
            created.append(rec)
    return created
