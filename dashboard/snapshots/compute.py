"""Computation of the overview payload of one scope, every period, from the rollups."""

import bisect
import functools
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from agents.selectors import agent_float_totals
from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.snapshots import sql
from dashboard.snapshots.fx import FOUR_PLACES, RateBook
from dashboard.snapshots.periods import HOUR, MAX_LOOKBACK, PERIODS, hours, window

TOP_N = 10
CONVERTED_FIGURES = ("gmv", "revenue", "fraud_amount")
ZERO = Decimal(0)


def money(value):
    """Exact decimal string: 4 places at most, no exponent, no trailing zeros ("0" for zero)."""
    text = format(value.quantize(FOUR_PLACES).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def iso(t):
    if t is None:
        return None
    if t.minute == 0 and t.second == 0 and t.microsecond == 0:
        return _iso_hour(t)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=65536)
def _iso_hour(t):
    # Charts print the same hour buckets again and again: format each once.
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ratio(num, den, places=4):
    """num/den as a float rounded to `places`, None for a zero denominator."""
    if not den:
        return None
    return round(float(Decimal(num) / Decimal(den)), places)


def change(current, previous):
    if not previous:
        return None
    return round(float((Decimal(current) - Decimal(previous)) / Decimal(previous)), 4)


class _Rows:
    """The scope's hourly rows (bucket, currency, source, figures...) sorted by bucket."""

    def __init__(self, rows):
        self.rows = rows
        self.buckets = [r[0] for r in rows]

    def between(self, frm, to):
        lo = bisect.bisect_left(self.buckets, frm)
        hi = bisect.bisect_left(self.buckets, to)
        return self.rows[lo:hi]


_NC = len(COUNT_FIGURES)


def figures(rows, book):
    """counts, amounts per currency, converted totals (per-day rates) and rates of rows."""
    counts = dict.fromkeys(COUNT_FIGURES, 0)
    amounts = {}
    converted = dict.fromkeys(CONVERTED_FIGURES, ZERO)
    missing = set()
    payment_successes = 0
    for bucket, currency, source, *values in rows:
        for name, v in zip(COUNT_FIGURES, values[:_NC], strict=True):
            counts[name] += v
        if source == "connect":
            payment_successes += values[1]
        cur = amounts.get(currency)
        if cur is None:
            cur = amounts[currency] = dict.fromkeys(MONEY_FIGURES, ZERO)
        money_values = values[_NC:]
        for name, v in zip(MONEY_FIGURES, money_values, strict=True):
            cur[name] += v
        day = bucket.date()
        for name in CONVERTED_FIGURES:
            v = money_values[MONEY_FIGURES.index(name)]
            if not v:
                continue
            c = book.convert(currency, day, v)
            if c is None:
                missing.add(currency)
            else:
                converted[name] += c
    # `amounts` lists the currencies that carried money: a count-only row
    # (payment.initiated has no currency) adds nothing there.
    amounts = {
        c: {k: money(v) for k, v in a.items()}
        for c, a in sorted(amounts.items())
        if c and any(a.values())
    }
    sc, fc = counts["success_count"], counts["failed_count"]
    rates = {
        # events.md: conversion counts payment.succeeded (source connect) over attempts.
        "conversion_rate": ratio(payment_successes, counts["attempts"]),
        "success_rate": ratio(sc, sc + fc),
        "fraud_rate_bps": None
        if missing
        else ratio(10000 * converted["fraud_amount"], converted["gmv"], places=2),
    }
    conv = {
        "currency": book.quote,
        **{k: money(v) for k, v in converted.items()},
        "missing_rates": sorted(missing),
    }
    return {"counts": counts, "amounts": amounts, "rates": rates, "converted": conv}, converted


def sparkline(rows, frm, to, book):
    per_hour = defaultdict(lambda: ZERO)
    for bucket, currency, _source, *values in rows:
        gmv = values[_NC]
        if gmv:
            c = book.convert(currency, bucket.date(), gmv)
            if c is not None:
                per_hour[bucket] += c
    return {
        "metric": "gmv",
        "currency": book.quote,
        "points": [{"t": iso(t), "value": money(per_hour[t])} for t in hours(frm, to)],
    }


def ranked(groups, book, key_name):
    """Top entries of (key, day, currency, gmv) groups by converted gmv."""
    totals = defaultdict(lambda: ZERO)
    missing = defaultdict(set)
    for key, day, currency, gmv in groups:
        c = book.convert(currency, day.date(), gmv)
        if c is None:
            missing[key].add(currency)
            totals[key] += ZERO
        else:
            totals[key] += c
    top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    return [
        {key_name: k, "gmv": money(v), "currency": book.quote, "missing_rates": sorted(missing[k])}
        for k, v in top
    ]


def float_totals(scope):
    return {c: money(v) for c, v in sorted(agent_float_totals(scope).items())}


def compute_scope(cursor, scope, *, now=None, as_of=None):
    """Payloads of every period of `scope`: {period: (body_bytes, window_to)}.

    One exact read of the scope's hourly rows (60 days) serves every period
    and its previous period; the top lists read the rollups per period.
    """
    now = now or datetime.now(UTC)
    computed_at = now
    windows = {p: window(p, now) for p in PERIODS}
    end = max(w[1] for w in windows.values())
    start = end - MAX_LOOKBACK
    rows = _Rows(sql.scope_hourly_rows(cursor, scope.kind, scope.id, start, end))
    currencies = {r[1] for r in rows.rows}
    top_country_groups = {}
    top_merchant_groups = {}
    for p, (frm, to, _pf, _pt) in windows.items():
        if scope.kind == "platform":
            top_country_groups[p] = sql.ranked_groups(cursor, group_kind="region", frm=frm, to=to)
            top_merchant_groups[p] = sql.ranked_groups(
                cursor, group_kind="merchant", frm=frm, to=to
            )
        else:
            top_country_groups[p] = sql.raw_country_groups(
                cursor, kind=scope.kind, ident=scope.id, frm=frm, to=to
            )
        for groups in (top_country_groups[p], top_merchant_groups.get(p, ())):
            currencies.update(g[2] for g in groups)
    book = RateBook.load(currencies, until=(end - HOUR).date())
    floats = float_totals(scope)
    if as_of is None and rows.rows:
        as_of = min(now, rows.buckets[-1] + HOUR)
    result = {}
    for p, (frm, to, pfrom, pto) in windows.items():
        current_rows = rows.between(frm, to)
        cur, cur_conv = figures(current_rows, book)
        prev, prev_conv = figures(rows.between(pfrom, pto), book)
        payload = {
            "stale": False,
            "scope": str(scope),
            "period": p,
            "from": iso(frm),
            "to": iso(to),
            "as_of": iso(as_of),
            "computed_at": iso(computed_at),
            "counts": cur["counts"],
            "amounts": cur["amounts"],
            "float": floats,
            "rates": cur["rates"],
            "converted": cur["converted"],
            "previous": {"from": iso(pfrom), "to": iso(pto), **prev},
            "change": {
                "counts": {k: change(v, prev["counts"][k]) for k, v in cur["counts"].items()},
                "converted": {k: change(cur_conv[k], prev_conv[k]) for k in CONVERTED_FIGURES},
            },
            "top_countries": ranked(top_country_groups[p], book, "country"),
            "top_merchants": ranked(top_merchant_groups.get(p, ()), book, "merchant_id"),
            "sparkline": sparkline(current_rows, frm, to, book),
        }
        result[p] = (orjson.dumps(payload), to)
    return result, computed_at, as_of
