"""The sparklines of the overview's KPI cards: every card's series of a scope and period,
read with the time-series selectors, in one document (one request for the whole page)."""

from datetime import datetime
from decimal import Decimal

from dashboard.snapshots.choices import Granularity, SnapshotPeriod
from dashboard.snapshots.fx import RateBook
from dashboard.snapshots.periods import floor_day
from dashboard.snapshots.timeseries import METRICS, parse_series_query, series_points
from dashboard.web.overview_cards import CONVERTED

# Hourly buckets for the short periods, daily for the long ones.
HOURLY_PERIODS = {SnapshotPeriod.TODAY, SnapshotPeriod.H24}


def parse_time(text):
    """An RFC 3339 time of the snapshot ("...Z") as an aware datetime; None for None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sparkline_series(scope, period, data, cards):
    """{"t": [bucket starts], "series": {card key: [values]}, "meta": {card key: {...}}}.

    Reads the time-series selectors over the snapshot's window (hourly for today and
    24h, daily for 7d and 30d). A card shown in the reporting currency gets each
    currency's series converted at its day's rate, summed per bucket (the snapshot's
    rule), so its trend matches its headline.
    """
    hourly = period in HOURLY_PERIODS
    granularity = Granularity.HOUR if hourly else Granularity.DAY
    frm = parse_time(data["from"])
    if not hourly:
        frm = floor_day(frm)
    params = {"from": frm.isoformat(), "to": data["to"], "granularity": granularity}
    quote = (data.get("converted") or {}).get("currency") or "XOF"
    currencies = sorted(data.get("amounts") or {})
    cache_points = {}

    def points(metric, currency):
        if (metric, currency) not in cache_points:
            q = parse_series_query(
                metric=metric, scope=scope, params={**params, "currency": currency or ""}
            )
            cache_points[(metric, currency)] = series_points(q)
        return cache_points[(metric, currency)]

    book = None

    def converted(metric):
        nonlocal book
        if book is None:
            until = parse_time(data["to"]).date()
            book = RateBook.load(currencies, until=until, quote=quote)
        totals = None
        for c in currencies:
            pts = points(metric, c)
            if totals is None:
                totals = [Decimal(0)] * len(pts)
            for i, (t, v) in enumerate(pts):
                value = book.convert(c, parse_time(t).date(), Decimal(v))
                if value is not None:
                    totals[i] += value
        return totals

    times = None
    series, meta = {}, {}
    for card in cards:
        spec = card.spark
        if not spec:
            continue
        metric, currency = spec["metric"], spec["currency"]
        if currency == CONVERTED and not currencies:
            currency = quote
        if currency == CONVERTED and metric == "fraud_rate_bps":
            fraud, gmv = converted("fraud_amount"), converted("gmv")
            values = [
                round(float(10000 * f / g), 2) if g else None
                for f, g in zip(fraud, gmv, strict=True)
            ]
            kind, shown = "bps", quote
        elif currency == CONVERTED:
            values = [_money_text(v) for v in converted(metric)]
            kind, shown = "money", quote
        else:
            pts = points(metric, currency)
            times = times or [t for t, _v in pts]
            values = [v for _t, v in pts]
            kind = METRICS[metric].kind
            shown = currency
        series[card.key] = values
        meta[card.key] = {"metric": metric, "kind": kind, "currency": shown}
    if times is None:
        times = [t for t, _v in points("attempts", None)]
    return {
        "scope": str(scope),
        "period": period,
        "granularity": granularity,
        "computed_at": data.get("computed_at"),
        "t": times,
        "series": series,
        "meta": meta,
    }


def _money_text(value):
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text
