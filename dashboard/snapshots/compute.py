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
from dashboard.snapshots.fx import FOUR_PLACES, RateBook, reporting_currency
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
_END = 3 + _NC + len(MONEY_FIGURES)  # rows: bucket, currency, source, figures, last_event_at
_GMV = _NC + MONEY_FIGURES.index("gmv")
_CONVERTED_AT = tuple(_NC + MONEY_FIGURES.index(n) for n in CONVERTED_FIGURES)


def figures(rows, book):
    """counts, amounts per currency, converted totals and rates of hourly rows.

    Conversion: each (currency, UTC day) sum at that day's rate, rounded to 4
    places (the same rule as the top lists, computed in SQL).
    """
    values = [r[3:_END] for r in rows]
    columns = list(zip(*values, strict=True)) if values else [()] * (_NC + len(MONEY_FIGURES))
    counts = {name: int(sum(columns[i])) for i, name in enumerate(COUNT_FIGURES)}
    payment_successes = sum(r[4] for r in rows if r[2] == "connect")
    by_currency = {}
    by_day = {}
    for r in rows:
        currency = r[1]
        by_currency.setdefault(currency, []).append(r[3 + _NC : _END])
        key = (currency, r[0].date())
        acc = by_day.get(key)
        picked = [r[3 + i] for i in _CONVERTED_AT]
        if acc is None:
            by_day[key] = picked
        else:
            for i, v in enumerate(picked):
                acc[i] += v
    amounts = {}
    for currency in sorted(c for c in by_currency if c):
        # Every currency seen in the period, even when only count-only events
        # (attempts, failures) named it: api.md's "one object per currency seen".
        sums = [sum(col, ZERO) for col in zip(*by_currency[currency], strict=True)]
        amounts[currency] = {n: money(v) for n, v in zip(MONEY_FIGURES, sums, strict=True)}
    converted = dict.fromkeys(CONVERTED_FIGURES, ZERO)
    missing = set()
    for (currency, day), sums in by_day.items():
        if not any(sums):
            continue
        rate = book.rate(currency, day)
        if rate is None:
            missing.add(currency)
            continue
        for name, v in zip(CONVERTED_FIGURES, sums, strict=True):
            converted[name] += book.apply(rate, v)
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
    """Converted GMV per hour of [frm, to), zero-filled (each hour at its day's rate)."""
    # Sum each currency's GMV of the hour over the sources first, then convert
    # once: converting each source's row apart would round twice.
    native = defaultdict(lambda: ZERO)
    for r in rows:
        gmv = r[3 + _GMV]
        if gmv:
            native[(r[0], r[1])] += gmv
    per_hour = defaultdict(lambda: ZERO)
    for (hour, currency), gmv in native.items():
        c = book.convert(currency, hour.date(), gmv)
        if c is not None:
            per_hour[hour] += c
    return {
        "metric": "gmv",
        "currency": book.quote,
        "points": [{"t": iso(t), "value": money(per_hour[t])} for t in hours(frm, to)],
    }


def ranked(rows, quote, key_name):
    """Top-list entries from (key, converted gmv, missing currencies) rows."""
    return [
        {key_name: key, "gmv": money(conv), "currency": quote, "missing_rates": sorted(missing)}
        for key, conv, missing in rows
    ]


def newest_event(rows, now):
    """as_of of a window: the newest event time counted in `rows` (None without rows).

    A row loaded without last_event_at (before migration 0005, bulk loads)
    counts as the end of its hour, capped at `now`: an upper bound, never
    later than the computation.
    """
    newest = None
    for r in rows:
        t = r[_END]
        if t is None:
            t = min(now, r[0] + HOUR)
        if newest is None or t > newest:
            newest = t
    return newest


def float_totals(scope):
    return {c: money(v) for c, v in sorted(agent_float_totals(scope).items())}


def compute_scope(cursor, scope, *, now=None):
    """Payloads of every period of `scope`: ({period: (body_bytes, window_to)}, computed_at,
    {period: as_of}).

    One exact read of the scope's hourly rows (60 days) serves every period
    and its previous period; the top lists read the rollups per period (bank
    scopes' top merchants: the bank-merchant GMV table). `as_of` is per period:
    the newest event time counted in the period's window.
    """
    now = now or datetime.now(UTC)
    computed_at = now
    windows = {p: window(p, now) for p in PERIODS}
    end = max(w[1] for w in windows.values())
    start = end - MAX_LOOKBACK
    rows = _Rows(sql.scope_hourly_rows(cursor, scope.kind, scope.id, start, end))
    quote = reporting_currency()
    book = RateBook.load({r[1] for r in rows.rows}, until=(end - HOUR).date(), quote=quote)
    tops = {}
    for p, (frm, to, _pf, _pt) in windows.items():
        if scope.kind == "platform":
            countries = sql.top_groups(
                cursor, group_kind="region", frm=frm, to=to, quote=quote, limit=TOP_N
            )
            merchants = sql.top_groups(
                cursor, group_kind="merchant", frm=frm, to=to, quote=quote, limit=TOP_N
            )
        else:
            countries = sql.top_countries_raw(
                cursor, kind=scope.kind, ident=scope.id, frm=frm, to=to, quote=quote, limit=TOP_N
            )
            merchants = []
            if scope.kind == "bank":
                merchants = sql.bank_top_merchants(
                    cursor, bank_id=scope.id, frm=frm, to=to, quote=quote, limit=TOP_N
                )
        tops[p] = (ranked(countries, quote, "country"), ranked(merchants, quote, "merchant_id"))
    floats = float_totals(scope)
    result = {}
    as_ofs = {}
    for p, (frm, to, pfrom, pto) in windows.items():
        current_rows = rows.between(frm, to)
        as_of = as_ofs[p] = newest_event(current_rows, now)
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
            "top_countries": tops[p][0],
            "top_merchants": tops[p][1],
            "sparkline": sparkline(current_rows, frm, to, book),
        }
        result[p] = (orjson.dumps(payload), to)
    return result, computed_at, as_ofs
