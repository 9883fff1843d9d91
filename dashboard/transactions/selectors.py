"""Reads of the stored transactions, always inside the caller's scope (accounts/scope.py).

Pages are keyset pages in (occurred_at, event_id) order, newest first: a cursor
names the last row shown, and the next page is the rows strictly before it, so
rows inserted meanwhile (late events included) never make a page skip or repeat
a row. CSV exports walk the same keyset in chunks instead of holding one
server-side cursor (and its transaction and connection) open for as long as a
slow client downloads.
"""

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection

from common.errors import NotFound, ValidationFailed
from dashboard.choices import EventType, Source
from dashboard.partitions import TX_TABLE
from dashboard.snapshots.compute import money
from dashboard.snapshots.timeseries import parse_time
from dashboard.stream import OUTCOME
from dashboard.transactions import drilldown
from dashboard.transactions.sql import COLUMNS

DEFAULT_LOOKBACK = timedelta(days=30)
DEFAULT_LIMIT = 50
CSV_CHUNK = 5000
_FLOAT = str(EventType.AGENT_FLOAT_UPDATED)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_TEXT_MAX = 64
_DIGITS = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class TxQuery:
    """A validated transactions query: scope (already resolved for the caller) and filters."""

    scope: object
    frm: datetime | None
    to: datetime | None
    types: tuple = ()
    figure: str | None = None
    source: str | None = None
    currency: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    event_id: str | None = None
    merchant_id: str | None = None
    agent_id: str | None = None
    bank_id: str | None = None
    after: tuple | None = None  # keyset: (occurred_at, event_id) of the last row shown
    limit: int = DEFAULT_LIMIT
    extra: dict = field(default_factory=dict)


def encode_cursor(occurred_at, event_id):
    """Opaque page cursor of a row."""
    raw = f"{occurred_at.astimezone(UTC).isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text, errors):
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        stamp, _, event_id = raw.partition("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None or not event_id or len(event_id) > _TEXT_MAX or "\x00" in event_id:
            raise ValueError
        return when.astimezone(UTC), event_id
    except (ValueError, UnicodeDecodeError):
        errors["cursor"] = ["Not a cursor given by this endpoint."]
        return None


def _decimal(name, text, errors):
    if text in (None, ""):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) >= Decimal(10) ** 18:
        errors[name] = [f"Not a decimal number: {text!r}."]
        return None
    return value


def _text(name, params, errors):
    value = params.get(name) or None
    if value is not None and (len(value) > _TEXT_MAX or "\x00" in value):
        errors[name] = [f"At most {_TEXT_MAX} characters."]
        return None
    return value


def parse_query(scope, params, *, now=None, paged=True):
    """Check every filter of the transactions endpoints; raises ValidationFailed (400)
    with all field errors at once. `scope` is already resolved (resolve_scope)."""
    errors = {}
    frm = parse_time("from", params.get("from"), errors)
    to = parse_time("to", params.get("to"), errors)
    if frm and to and frm >= to:
        errors["to"] = ["Must be after `from`."]
    types = tuple(t for t in params.getlist("type") for t in t.split(",") if t)
    bad = [t for t in types if t not in EventType.values]
    if bad:
        errors["type"] = [f"Unknown event type(s): {', '.join(bad)}."]
    figure = params.get("figure") or None
    if figure is not None and figure not in drilldown.FIGURES:
        errors["figure"] = [f"Unknown figure {figure!r}. Known: {', '.join(drilldown.FIGURES)}."]
    source = params.get("source") or None
    if source is not None and source not in Source.values:
        errors["source"] = ["Must be wallet or connect."]
    currency = params.get("currency") or None
    if currency is not None and not _CURRENCY_RE.fullmatch(currency):
        errors["currency"] = [f"Not an ISO 4217 code: {currency!r}."]
    country = params.get("country") or None
    if country is not None and not _COUNTRY_RE.fullmatch(country):
        errors["country"] = [f"Not an ISO 3166-1 alpha-2 code: {country!r}."]
    region, city = _text("region", params, errors), _text("city", params, errors)
    event_id = _text("event_id", params, errors)
    parties = {name: _text(name, params, errors) for name in ("merchant_id", "agent_id", "bank_id")}
    amount_min = _decimal("amount_min", params.get("amount_min"), errors)
    amount_max = _decimal("amount_max", params.get("amount_max"), errors)
    after = None
    if paged and params.get("cursor"):
        after = _decode_cursor(params["cursor"], errors)
    limit = DEFAULT_LIMIT
    if paged and params.get("limit"):
        text = params["limit"]
        if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= settings.TRANSACTIONS_PAGE_MAX:
            errors["limit"] = [f"An integer from 1 to {settings.TRANSACTIONS_PAGE_MAX}."]
        else:
            limit = int(text)
    if errors:
        raise ValidationFailed("Invalid input.", errors=errors)
    if frm is None and event_id is None:
        # Bounded by default: a look-back the partitions prune to (see docs/transactions.md).
        frm = (to or now or datetime.now(UTC)) - DEFAULT_LOOKBACK
    return TxQuery(
        scope=scope, frm=frm, to=to, types=types, figure=figure, source=source,
        currency=currency, country=country, region=region, city=city,
        amount_min=amount_min, amount_max=amount_max, event_id=event_id, after=after,
        limit=limit, **parties,
    )  # fmt: skip


def scope_clause(scope):
    """SQL + params of the rows a scope owns: the events ingestion counts in that scope
    (an agent's float update counts in platform, agent and region only)."""
    kind, ident = scope.kind, scope.id
    if kind == "platform":
        return "TRUE", []
    if kind == "region":
        return "country = %s", [ident]
    if kind == "agent":
        return "agent_id = %s", [ident]
    column = {"merchant": "merchant_id", "bank": "bank_id"}[kind]
    return f"{column} = %s AND type <> %s", [ident, _FLOAT]


def _where(q, *, types=None, source=None):
    sql, params = scope_clause(q.scope)
    clauses = [sql]
    wanted = types if types is not None else q.types
    if q.figure is not None and types is None:
        figure_types = drilldown.figure_types(q.figure)
        wanted = tuple(t for t in wanted if t in figure_types) if wanted else figure_types
        if not wanted:
            clauses.append("FALSE")
    for clause, value in (
        ("occurred_at >= %s", q.frm),
        ("occurred_at < %s", q.to),
        ("type = ANY(%s)", list(wanted) if wanted else None),
        ("source = %s", source or q.source),
        ("currency = %s", q.currency),
        ("country = %s", q.country),
        ("region = %s", q.region),
        ("city = %s", q.city),
        ("event_id = %s", q.event_id),
        ("merchant_id = %s", q.merchant_id),
        ("agent_id = %s", q.agent_id),
        ("bank_id = %s", q.bank_id),
        ("amount >= %s", q.amount_min),
        ("amount <= %s", q.amount_max),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TX_TABLE}"


def _row(values):
    row = dict(zip(COLUMNS, values, strict=True))
    row["status"] = OUTCOME[row["type"]]
    return row


def _keyset(q, after, limit):
    where, params = _where(q)
    if after is not None:
        where += " AND (occurred_at, event_id) < (%s, %s)"
        params += [after[0], after[1]]
    sql = f"{_SELECT} WHERE {where} ORDER BY occurred_at DESC, event_id DESC LIMIT %s"
    with connection.cursor() as cur:
        cur.execute(sql, [*params, limit])
        return [_row(r) for r in cur.fetchall()]


def transactions_page(q):
    """One page of the query: (rows newest first, cursor of the next page or None)."""
    rows = _keyset(q, q.after, q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    cursor = encode_cursor(rows[-1]["occurred_at"], rows[-1]["event_id"]) if more else None
    return rows, cursor


def transactions_iter(q, chunk=CSV_CHUNK):
    """Every row of the query, newest first, read in keyset chunks (the CSV export)."""
    after = q.after
    while True:
        rows = _keyset(q, after, chunk)
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1]["occurred_at"], rows[-1]["event_id"])


def transaction_get(scope, event_id):
    """One event of the scope by id; NotFound (404) if absent or another tenant's."""
    if not event_id or len(event_id) > _TEXT_MAX or "\x00" in event_id:
        # Not an id ingestion accepts (and PostgreSQL text cannot hold a NUL).
        raise NotFound("No such transaction in this scope.", code="transaction_not_found")
    where, params = scope_clause(scope)
    sql = f"{_SELECT} WHERE {where} AND event_id = %s ORDER BY occurred_at, event_id LIMIT 1"
    with connection.cursor() as cur:
        cur.execute(sql, [*params, event_id])
        found = cur.fetchone()
    if found is None:
        raise NotFound("No such transaction in this scope.", code="transaction_not_found")
    return _row(found)


def _part_sum(q, part):
    where, params = _where(q, types=part.types, source=part.source)
    if q.types:
        # An explicit type filter narrows the figure's own types.
        where += " AND type = ANY(%s)"
        params.append(list(q.types))
    if part.expr is None:
        sql = f"SELECT count(*) FROM {TX_TABLE} WHERE {where}"
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return {"count": cur.fetchone()[0]}
    sql = (
        f"SELECT currency, count(*), sum({part.expr}) FROM {TX_TABLE} WHERE {where} "
        "GROUP BY currency ORDER BY currency"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        found = cur.fetchall()
    return {
        "count": sum(r[1] for r in found),
        "amounts": {r[0]: _plain(r[2]) for r in found},
    }


def _plain(value):
    """A Decimal sum written as the overview writes money (dashboard/snapshots/compute.py)."""
    return money(Decimal(value or 0))


def drilldown_sum(q):
    """The figure computed from its listed events: {"count", "amounts"} (a money figure's
    sum per currency), or {"numerator", "denominator"} for a ratio."""
    parts = drilldown.FIGURES[q.figure]
    if len(parts) == 1:
        return _part_sum(q, parts[0])
    return {"numerator": _part_sum(q, parts[0]), "denominator": _part_sum(q, parts[1])}
