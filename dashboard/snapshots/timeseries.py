"""Time series of one metric for one scope: parameter checks, exact reads, zero fill."""

import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection

from common.errors import ValidationFailed
from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES, Source
from dashboard.snapshots import sql
from dashboard.snapshots.choices import Granularity
from dashboard.snapshots.compute import iso
from dashboard.snapshots.periods import DAY, HOUR, ceil_to

MAX_RANGE = {Granularity.HOUR: timedelta(days=31), Granularity.DAY: timedelta(days=400)}
DEFAULT_RANGE = {Granularity.HOUR: timedelta(hours=24), Granularity.DAY: timedelta(days=30)}


@dataclass(frozen=True)
class Metric:
    """A metric: SQL aggregates over the figure columns, and how to turn them into a value."""

    exprs: tuple
    kind: str  # count | money | ratio | bps
    needs_currency: bool


def _metrics():
    out = {name: Metric((f"sum({name})",), "count", False) for name in COUNT_FIGURES}
    out.update({name: Metric((f"sum({name})",), "money", True) for name in MONEY_FIGURES})
    out["sales"] = Metric(("sum(cash_in_amount) + sum(cash_out_amount)",), "money", True)
    out["conversion_rate"] = Metric(
        ("sum(success_count) FILTER (WHERE source = 'connect')", "sum(attempts)"), "ratio", False
    )
    out["success_rate"] = Metric(
        ("sum(success_count)", "sum(success_count) + sum(failed_count)"), "ratio", False
    )
    out["fraud_rate_bps"] = Metric(("10000 * sum(fraud_amount)", "sum(gmv)"), "bps", True)
    return out


METRICS = _metrics()
_CURRENCY_RE = re.compile(r"[A-Z]{3}")  # used with fullmatch: "$" would let "XOF\n" through
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
# Timestamps outside these bounds cannot name data and would overflow datetime
# arithmetic (bucket rounding, the default range) into a 500.
# RFC 3339 with seconds and a UTC offset, as the OpenAPI schema states it (the API
# view's `from`/`to` pattern): nothing fromisoformat would also take (a week date,
# "+0100", a space separator) gets in. A space for "+" is an unencoded offset.
_TIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+\- ][0-9]{2}:[0-9]{2})"
)
_TIME_RE = re.compile(_TIME)
OPTIONAL_TIME_PATTERN = rf"^({_TIME})?$"
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeriesQuery:
    """A validated time-series request."""

    metric: str
    scope: object
    granularity: str
    frm: datetime
    to: datetime
    currency: str | None
    source: str | None
    geo: dict


def parse_time(name, text, errors):
    """An RFC 3339 query value -> aware UTC datetime; None (with `errors[name]` set) if bad."""
    if text in (None, ""):
        return None
    if not _TIME_RE.fullmatch(text):
        errors[name] = [
            f"Not an RFC 3339 timestamp with seconds and offset (2026-11-27T10:00:00Z): {text!r}."
        ]
        return None
    # An unencoded "+01:00" offset arrives as " 01:00" in a query string.
    candidate = text.replace(" ", "+")
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        errors[name] = [f"Not an RFC 3339 timestamp: {text!r}."]
        return None
    if value.tzinfo is None:
        errors[name] = [f"Timestamp needs a UTC offset (Z or +00:00): {text!r}."]
        return None
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 has no UTC equivalent
        value = None
    if value is None or not _EARLIEST <= value <= _LATEST:
        errors[name] = [f"Timestamp out of range (1970 to 2100): {text!r}."]
        return None
    return value


# (Choices' `.values` builds its list on every call.)
_GRANULARITIES = frozenset(Granularity.values)
_SOURCES = frozenset(Source.values)


def parse_series_query(*, metric, scope, params, now=None):
    """Check every parameter; raises ValidationFailed with all field errors at once."""
    errors = {}
    if metric not in METRICS:
        errors["metric"] = [f"Unknown metric {metric!r}. Known: {', '.join(sorted(METRICS))}."]
    granularity = params.get("granularity") or Granularity.HOUR
    if granularity not in _GRANULARITIES:
        errors["granularity"] = ["Must be hour or day."]
        granularity = Granularity.HOUR
    frm = parse_time("from", params.get("from"), errors)
    to = parse_time("to", params.get("to"), errors)
    currency = params.get("currency") or None
    if currency is not None and not _CURRENCY_RE.fullmatch(currency):
        errors["currency"] = [f"Not an ISO 4217 code: {currency!r}."]
    if metric in METRICS and METRICS[metric].needs_currency and not currency:
        errors.setdefault("currency", []).append(f"Money metric {metric!r} needs a currency.")
    source = params.get("source") or None
    if source is not None and source not in _SOURCES:
        errors["source"] = ["Must be wallet or connect."]
    geo = {}
    country = params.get("country") or None
    if country is not None:
        if not _COUNTRY_RE.fullmatch(country):
            errors["country"] = [f"Not an ISO 3166-1 alpha-2 code: {country!r}."]
        geo["country"] = country
    for name in ("region", "city"):
        value = params.get(name) or None
        if value is not None:
            if len(value) > 64:
                errors[name] = ["At most 64 characters."]
            elif "\x00" in value:  # PostgreSQL text cannot hold NUL: the query would 500
                errors[name] = ["Null characters are not allowed."]
            geo[name] = value
    if not errors.keys() & {"from", "to"}:
        now = now or datetime.now(UTC)
        to = to or now
        frm = frm or to - DEFAULT_RANGE[granularity]
        if frm > to:
            errors["from"] = ["`from` is after `to`."]
        elif to - frm > MAX_RANGE[granularity]:
            days = MAX_RANGE[granularity].days
            errors["to"] = [f"Range too long for {granularity} granularity (at most {days} days)."]
    if errors:
        raise ValidationFailed("Invalid time-series parameters.", errors=errors)
    step = HOUR if granularity == Granularity.HOUR else DAY
    return SeriesQuery(
        metric=metric,
        scope=scope,
        granularity=granularity,
        frm=ceil_to(frm, step),
        to=ceil_to(to, step),
        currency=currency,
        source=source,
        geo=geo,
    )


def _value(metric, found):
    """The rendered value of one bucket from its SQL texts (None when the bucket had no row)."""
    kind = metric.kind
    if found is None:
        return "0" if kind == "money" else (0 if kind == "count" else None)
    if kind == "money":
        return found[0] or "0"
    if kind == "count":
        return int(found[0] or 0)
    num, den = found
    if den is None or Decimal(den) == 0:
        return None
    return round(float(Decimal(num or 0) / Decimal(den)), 4 if kind == "ratio" else 2)


def series_points(q):
    """Zero-filled points [(t, value)] of a query, one per bucket start in [from, to).

    Values are rendered: money as exact decimal strings, counts as integers,
    ratios as floats (None for a zero denominator).
    """
    return series_points_many([q])[q.metric]


def series_points_many(queries):
    """{metric: series_points} of queries that differ only in their metric (same scope,
    range, granularity, currency, source and geography), read in one SQL statement: a
    page showing several metrics of one scope pays one round trip, not one per metric."""
    q = queries[0]
    if any(
        (o.scope, o.granularity, o.frm, o.to, o.currency, o.source, o.geo)
        != (q.scope, q.granularity, q.frm, q.to, q.currency, q.source, q.geo)
        for o in queries
    ):
        raise ValueError("series_points_many: the queries must differ only in their metric")
    metrics = {o.metric: METRICS[o.metric] for o in queries}
    exprs, spans = [], {}
    for name, metric in metrics.items():
        spans[name] = (len(exprs), len(exprs) + len(metric.exprs))
        exprs.extend(metric.exprs)
    day = q.granularity == Granularity.DAY
    if q.scope.kind == "region" and "country" in q.geo and q.geo["country"] != q.scope.id:
        found = {}
    else:
        with connection.cursor() as cur:
            rows = sql.series(
                cur,
                kind=q.scope.kind,
                ident=q.scope.id,
                frm=q.frm,
                to=q.to,
                day=day,
                exprs=tuple(exprs),
                currency=q.currency,
                source=q.source,
                geo=q.geo,
            )
        found = {r[0]: r[1:] for r in rows}
    step = int((DAY if day else HOUR).total_seconds())
    buckets = range(int(q.frm.timestamp()), int(q.to.timestamp()), step)
    out = {}
    for name, metric in metrics.items():
        lo, hi = spans[name]
        out[name] = [
            (_epoch_iso(t), _value(metric, found[t][lo:hi] if t in found else None))
            for t in buckets
        ]
    return out


@functools.lru_cache(maxsize=65536)
def _epoch_iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def series_payload(q):
    """The contract's JSON document of a query."""
    return {
        "metric": q.metric,
        "scope": str(q.scope),
        "granularity": q.granularity,
        "currency": q.currency,
        "from": iso(q.frm),
        "to": iso(q.to),
        "points": [{"t": t, "value": v} for t, v in series_points(q)],
    }


def series_csv(q):
    lines = ["t,value"]
    for t, v in series_points(q):
        lines.append(f"{t},{'' if v is None else v}")
    return "\n".join(lines) + "\n"
