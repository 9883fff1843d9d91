"""The sparklines of the overview's KPI cards: every card's series of a scope and period,
read with the time-series selectors, in one document (one request for the whole page)."""

from datetime import datetime
from decimal import Decimal

from dashboard.snapshots.choices import Granularity, SnapshotPeriod
from dashboard.snapshots.fx import RateBook
from dashboard.snapshots.periods import floor_day
from dashboard.snapshots.timeseries import METRICS, parse_series_query, series_points_many
from dashboard.web.overview_cards import CONVERTED

# Hourly buckets for the short periods, daily for the long ones.
HOURLY_PERIODS = {SnapshotPeriod.TODAY, SnapshotPeriod.H24}


def parse_time(text):
    """An RFC 3339 time of the snapshot ("...Z") as an aware datetime; None for None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _needs(cards, currencies, quote):
    """{currency or None: {metrics}} the cards' sparklines read."""
    needs = {}
    for card in cards:
        spec = card.spark
        if not spec:
            continue
        metric, currency = spec["metric"], spec["currency"]
        if currency == CONVERTED:
            wanted = ("fraud_amount", "gmv") if metric == "fraud_rate_bps" else (metric,)
            for c in currencies or [quote]:
                needs.setdefault(c, set()).update(wanted)
        else:
            needs.setdefault(currency, set()).add(metric)
    return needs


def sparkline_series(scope, period, data, cards):
    """{"t": [bucket starts], "series": {card key: [values]}, "meta": {card key: {...}}}.

    Reads the time-series selectors over the snapshot's window (hourly for today and
    24h, daily for 7d and 30d), one statement per currency. A card shown in the
    reporting currency gets each currency's series converted at its day's rate and
    summed per bucket (the snapshot's rule), so its trend matches its headline.
    """
    hourly = period in HOURLY_PERIODS
    granularity = Granularity.HOUR if hourly else Granularity.DAY
    frm = parse_time(data["from"])
    if not hourly:
        frm = floor_day(frm)
    params = {"from": frm.isoformat(), "to": data["to"], "granularity": granularity}
    quote = (data.get("converted") or {}).get("currency") or "XOF"
    currencies = sorted(data.get("amounts") or {})
    points = {}  # (metric, currency) -> [(t, value)]
    for currency, metrics in _needs(cards, currencies, quote).items():
        queries = [
            parse_series_query(metric=m, scope=scope, params={**params, "currency": currency or ""})
            for m in sorted(metrics)
        ]
        for metric, pts in series_points_many(queries).items():
            points[(metric, currency)] = pts
    if not points:
        q = parse_series_query(metric="attempts", scope=scope, params=params)
        points[("attempts", None)] = series_points_many([q])["attempts"]
    times = [t for t, _v in next(iter(points.values()))]
    book = RateBook.load(currencies, until=parse_time(data["to"]).date(), quote=quote)

    def converted(metric):
        totals = [Decimal(0)] * len(times)
        for c in currencies or [quote]:
            for i, (t, v) in enumerate(points[(metric, c)]):
                value = book.convert(c, parse_time(t).date(), Decimal(v))
                if value is not None:
                    totals[i] += value
        return totals

    series, meta = {}, {}
    for card in cards:
        spec = card.spark
        if not spec:
            continue
        metric, currency = spec["metric"], spec["currency"]
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
            values = [v for _t, v in points[(metric, currency)]]
            kind, shown = METRICS[metric].kind, currency
        series[card.key] = values
        meta[card.key] = {"metric": metric, "kind": kind, "currency": shown}
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
