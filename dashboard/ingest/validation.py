"""Parse and validate one contract event (../shared/contracts/events.md) in plain Python.

This runs for every message at 30k events/s, so it avoids serializers and
regex-heavy code: orjson for the bytes, dict lookups, Decimal built from the
raw string (never through a binary float). A bad event raises `Invalid` with a
stable reason code (DeadLetterReason) and a human detail: whatever the input,
never another exception (tests/dashboard/test_validation_properties.py).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec
import orjson

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES, EventType
from dashboard.ingest.choices import DeadLetterReason as R
from dashboard.ingest.iso import COUNTRIES, CURRENCIES

FIGURES = COUNT_FIGURES + MONEY_FIGURES
_IX = {name: i for i, name in enumerate(FIGURES)}
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_AMOUNT = Decimal(10) ** 14
_DECIMAL_STR = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# At most 14 integer digits and 4 decimals: within the contract by its shape alone.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,4})?").fullmatch
# RFC 3339 `date-time` (section 5.6), strictly: a `T` (or `t`) between date and
# time, seconds required, 1-9 fraction digits, offset `Z` (or `z`) or +HH:MM/-HH:MM.
# No week or ordinal dates, no basic format, no +HHMM/+HH, no space separator. The
# shape is this regex (ASCII digits); the ranges are fromisoformat's: month, day of
# month and leap years, hours 00-23 (no 24:00), minutes and seconds 00-59 (no leap
# second 60), offset hours 00-23. Offset minutes are checked here: fromisoformat
# reads +01:60 as +02:00.
_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:[Zz]|[+-]\d\d:[0-5]\d)", re.ASCII
).fullmatch
_fromisoformat = datetime.fromisoformat
# Nesting limit of a message (the top-level object is level 1): far below every
# parser's own recursion limit, so no parser hits it and all of them agree.
MAX_DEPTH = 64
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

# What each type counts: (count figure, amount figure, fee/revenue counted, sources).
# A type with an amount figure is a "money type": currency and amount required.
RULES = {
    EventType.PAYMENT_INITIATED: ("attempts", None, False, ("connect",)),
    EventType.PAYMENT_SUCCEEDED: ("success_count", "gmv", True, ("connect",)),
    EventType.PAYMENT_FAILED: ("failed_count", None, False, ("connect",)),
    EventType.REFUND_SUCCEEDED: ("refunds_count", "refunds_amount", False, ("connect",)),
    EventType.DISPUTE_OPENED: ("disputes_count", "disputes_amount", False, ("connect",)),
    EventType.PAYOUT_COMPLETED: ("payouts_count", "payouts_amount", False, ("wallet", "connect")),
    EventType.PAYOUT_FAILED: ("payouts_failed_count", None, False, ("wallet", "connect")),
    EventType.FRAUD_FLAGGED: ("fraud_count", "fraud_amount", False, ("wallet", "connect")),
    EventType.TRANSFER_COMPLETED: ("success_count", "gmv", True, ("wallet",)),
    EventType.CASH_IN_COMPLETED: (None, "cash_in_amount", True, ("wallet",)),
    EventType.CASH_OUT_COMPLETED: (None, "cash_out_amount", True, ("wallet",)),
    EventType.AGENT_FLOAT_UPDATED: (None, None, False, ("wallet",)),
}
# type -> (count index or None, amount index or None, fees/revenue?, allowed sources)
_RULES = {
    str(t): (
        _IX[c] if c else None,
        _IX[a] if a else None,
        fee,
        frozenset(sources),
    )
    for t, (c, a, fee, sources) in RULES.items()
}
RULE_INDEX = _RULES
FEES_IX = _IX["fees"]
REVENUE_IX = _IX["revenue"]


class Invalid(Exception):
    """The event breaks the contract; `reason` is a DeadLetterReason code."""

    def __init__(self, reason, detail, event_id=None):
        super().__init__(f"{reason}: {detail}")
        self.reason = str(reason)
        self.detail = detail
        self.event_id = event_id


class Event(msgspec.Struct, gc=False):
    """A validated event: only what the aggregation needs, with exact Decimals.

    A struct the collector does not track (it holds no containers) and that the
    fast path builds in one positional call."""

    event_id: str = None
    type: str = None
    source: str = None
    occurred_at: datetime = None
    bucket: datetime = None
    day: object = None  # datetime.date
    count_ix: int | None = None
    amount_ix: int | None = None
    counts_fee: bool = False
    currency: str = None
    amount: Decimal | None = None
    fee: Decimal | None = None
    cost: Decimal | None = None
    balance: Decimal | None = None
    merchant_id: str | None = None
    agent_id: str | None = None
    bank_id: str | None = None
    country: str = None
    region: str = None
    city: str = None
    lat: float | None = None
    lon: float | None = None


def _unstorable(text):
    """True for a string PostgreSQL cannot store as text: a NUL character, or a lone
    surrogate (from a "\\ud800" escape: not UTF-8). Counting such an event would
    fail its whole batch, again and again: it is a dead letter instead."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


def _json_decimal(text):
    """A JSON number with a fraction or exponent, exactly; an exponent beyond what
    Decimal holds (1e99999999999999999999) becomes a float (inf or 0.0), which no
    amount accepts and a coordinate reads as orjson and msgspec do."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return float(text)


def _json_int(text):
    # Beyond Python's int/str conversion limit (4300 digits) as a Decimal: the
    # message is still JSON, its value is judged by the field (or ignored).
    return int(text) if len(text) <= 4000 else Decimal(text)


def _too_deep(raw):
    """True if the JSON text nests objects/arrays deeper than MAX_DEPTH (brackets
    inside strings do not count). Cheap for ordinary messages: counting brackets
    bounds the depth; only a message with more brackets than the limit is scanned."""
    if (
        raw.count("{" if type(raw) is str else b"{") + raw.count("[" if type(raw) is str else b"[")
        <= MAX_DEPTH
    ):
        return False
    if type(raw) is str:
        raw = raw.encode("utf-8", "surrogatepass")
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if byte == 0x7B or byte == 0x5B:  # { [
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _check_text(raw):
    """bytes-like or str -> bytes or str, raising Invalid for what no parser should see."""
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    elif not isinstance(raw, bytes | str):
        raise Invalid(R.INVALID_JSON, f"expected bytes or str, got {type(raw).__name__}")
    if _too_deep(raw):
        raise Invalid(R.INVALID_JSON, f"JSON nested deeper than {MAX_DEPTH} levels")
    return raw


def loads(raw):
    """bytes/str -> dict, exact: numbers with a fraction are re-read as Decimal."""
    raw = _check_text(raw)
    try:
        obj = orjson.loads(raw)
        exact = False
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits: the stdlib reads them exactly.
        obj = reference_loads(raw)
        exact = True
    if not isinstance(obj, dict):
        raise Invalid(R.INVALID_JSON, f"expected a JSON object, got {type(obj).__name__}")
    if not exact:
        for field in ("amount", "fee", "cost", "balance"):
            if type(obj.get(field)) is float:
                # A JSON number with a fraction: orjson made a binary float of
                # it, so read the original text again with Decimal.
                return reference_loads(raw)
    return obj


def reference_loads(raw):
    """The reference reader (stdlib json, exact numbers): what `loads` falls back to."""
    raw = _check_text(raw)
    try:
        if type(raw) is bytes:
            raw = raw.decode("utf-8")
        obj = json.loads(
            raw, parse_float=_json_decimal, parse_int=_json_int, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:  # (UnicodeDecodeError is a ValueError)
        raise Invalid(R.INVALID_JSON, str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Invalid(R.INVALID_JSON, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _shown(value, n=40):
    """A value for a detail message: never raises (str() of a huge int does)."""
    return repr(value[:n]) if type(value) is str else f"a JSON {type(value).__name__}"


def _decimal(value, field, event_id, *, signed=False):
    """Contract decimal: string or JSON number, at most 4 decimals, |x| < 10^14."""
    t = type(value)
    if t is str and _PLAIN_DECIMAL(value):
        # Fast path (nearly every event): the shape already proves the limits.
        d = Decimal(value)
        if not signed and d < 0:
            raise Invalid(R.NEGATIVE_AMOUNT, f"{field} {value} is negative", event_id)
        return d
    if t is str:
        if not _DECIMAL_STR.fullmatch(value):
            raise Invalid(R.INVALID_AMOUNT, f"{field} {_shown(value)} is not a decimal", event_id)
        d = Decimal(value)
    elif t is int:
        d = Decimal(value)
    elif t is Decimal:
        if not value.is_finite():
            raise Invalid(R.INVALID_AMOUNT, f"{field} is not finite", event_id)
        d = value
    else:
        raise Invalid(R.INVALID_AMOUNT, f"{field} must be a decimal string or number", event_id)
    if d < 0 and not signed:
        raise Invalid(R.NEGATIVE_AMOUNT, f"{field} is negative", event_id)
    if abs(d) >= MAX_AMOUNT:
        raise Invalid(R.INVALID_AMOUNT, f"{field} is 10^14 or more", event_id)
    exp = d.as_tuple().exponent
    if exp < -4 and d != d.quantize(Decimal("0.0001")):
        raise Invalid(R.INVALID_AMOUNT, f"{field} has more than 4 decimals", event_id)
    return d


def utc_instant(stamp):
    """An RFC 3339 date-time string (see _RFC3339) -> aware UTC datetime, else None.

    The one reading of a timestamp, shared by the fast path and `validate`."""
    if type(stamp) is not str or not _RFC3339(stamp):
        return None
    if stamp[-1] == "z":  # (fromisoformat reads only an upper-case Z)
        stamp = stamp[:-1] + "Z"
    try:
        # ValueError: not a calendar date (2026-02-30, month 13, year 0000);
        # OverflowError: the offset moves the instant outside years 1-9999.
        return _fromisoformat(stamp).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _timestamp_problem(value):
    """Why utc_instant(value) is None, for the dead letter's detail."""
    if type(value) is not str:
        return "occurred_at must be an RFC 3339 string"
    shown = _shown(value)
    if not _RFC3339(value):
        return (
            f"occurred_at {shown} is not RFC 3339 "
            "(YYYY-MM-DDTHH:MM:SS[.1-9 digits] then Z or +HH:MM/-HH:MM)"
        )
    if value[17:19] == "60":
        return f"occurred_at {shown}: a leap second (:60) is not accepted"
    if value[11:13] == "24":
        return f"occurred_at {shown}: hour 24 is not RFC 3339"
    try:
        _fromisoformat(value[:-1] + "Z" if value[-1] == "z" else value)
    except ValueError as exc:
        return f"occurred_at {shown} is not a valid date and time ({exc})"[:200]
    return f"occurred_at {shown} is outside 0001-01-01..9999-12-31 in UTC"


def parse_timestamp(value, event_id=None):
    """RFC 3339 with an offset -> aware UTC datetime, or raise Invalid."""
    dt = utc_instant(value)
    if dt is None:
        raise Invalid(R.INVALID_TIMESTAMP, _timestamp_problem(value), event_id)
    return dt


def _coordinate(value):
    """A JSON number as the float it denotes (correctly rounded, as orjson and msgspec
    read it), else None; a bool is not a number."""
    t = type(value)
    if t is float:
        return value
    if t is int or t is Decimal:
        try:
            return float(value)
        except OverflowError:  # an int beyond the float range
            return None
    return None


def validate(obj, now=None):
    """A parsed JSON object -> Event, or raise Invalid. `now` (aware) for the future check."""
    event_id = obj.get("event_id")
    if event_id is None:
        raise Invalid(R.MISSING_FIELD, "event_id is required")
    if type(event_id) is not str or not (1 <= len(event_id) <= 64):
        raise Invalid(R.INVALID_FIELD, "event_id must be a string of 1-64 chars")
    if _unstorable(event_id):
        raise Invalid(
            R.INVALID_FIELD, f"event_id {_shown(event_id)} has a NUL or is not valid UTF-8"
        )
    for field in ("type", "source", "occurred_at"):
        if obj.get(field) is None:
            raise Invalid(R.MISSING_FIELD, f"{field} is required", event_id)
    etype = obj["type"]
    rule = _RULES.get(etype) if type(etype) is str else None
    if rule is None:
        raise Invalid(R.UNKNOWN_TYPE, f"unknown type {_shown(etype, 64)}", event_id)
    count_ix, amount_ix, counts_fee, sources = rule
    source = obj["source"]
    if type(source) is not str or source not in ("wallet", "connect"):
        raise Invalid(
            R.INVALID_SOURCE, f"source {_shown(source, 20)} is not wallet or connect", event_id
        )
    if source not in sources:
        raise Invalid(R.INVALID_SOURCE, f"{etype} is not published by {source}", event_id)

    occurred_at = parse_timestamp(obj["occurred_at"], event_id)
    if now is None:
        now = datetime.now(UTC)
    if occurred_at > now + FUTURE_TOLERANCE:
        raise Invalid(
            R.FUTURE_TIMESTAMP, f"occurred_at {obj['occurred_at']} is in the future", event_id
        )

    e = Event()
    e.event_id = event_id
    e.type = etype
    e.source = source
    e.occurred_at = occurred_at
    e.bucket = occurred_at.replace(minute=0, second=0, microsecond=0)
    e.day = occurred_at.date()
    e.count_ix = count_ix
    e.amount_ix = amount_ix
    e.counts_fee = counts_fee

    currency = obj.get("currency")
    if currency is None:
        if amount_ix is not None:
            raise Invalid(R.MISSING_FIELD, f"currency is required for {etype}", event_id)
        currency = ""
    elif type(currency) is not str or currency not in CURRENCIES:
        raise Invalid(
            R.INVALID_CURRENCY, f"currency {_shown(currency, 20)} is not ISO 4217", event_id
        )
    e.currency = currency

    amount = obj.get("amount")
    if amount is None:
        if amount_ix is not None:
            raise Invalid(R.MISSING_FIELD, f"amount is required for {etype}", event_id)
    else:
        amount = _decimal(amount, "amount", event_id)
    e.amount = amount
    fee = obj.get("fee")
    e.fee = _decimal(fee, "fee", event_id) if fee is not None else None
    cost = obj.get("cost")
    e.cost = _decimal(cost, "cost", event_id) if cost is not None else None

    balance = obj.get("balance")
    if etype == "agent.float_updated":
        if balance is None:
            raise Invalid(R.MISSING_FIELD, "balance is required for agent.float_updated", event_id)
        if obj.get("agent_id") is None:
            raise Invalid(R.MISSING_FIELD, "agent_id is required for agent.float_updated", event_id)
    e.balance = _decimal(balance, "balance", event_id, signed=True) if balance is not None else None

    for field in ("merchant_id", "agent_id", "bank_id"):
        value = obj.get(field)
        if value is not None and (type(value) is not str or not 0 < len(value) <= 64):
            raise Invalid(R.INVALID_FIELD, f"{field} must be a string of 1-64 chars", event_id)
    for field in ("merchant_id", "agent_id", "bank_id", "region", "city"):
        value = obj.get(field)
        if type(value) is str and _unstorable(value):
            raise Invalid(R.INVALID_FIELD, f"{field} has a NUL or is not valid UTF-8", event_id)
    e.merchant_id = obj.get("merchant_id")
    e.agent_id = obj.get("agent_id")
    e.bank_id = obj.get("bank_id")
    country = obj.get("country")
    if country is None:
        country = "ZZ"
    elif type(country) is not str or country not in COUNTRIES:
        raise Invalid(
            R.INVALID_COUNTRY, f"country {_shown(country, 20)} is not ISO 3166-1", event_id
        )
    e.country = country
    region = obj.get("region")
    if region is None:
        region = ""
    elif type(region) is not str or len(region) > 64:
        raise Invalid(R.INVALID_FIELD, "region must be a string of at most 64 chars", event_id)
    e.region = region
    city = obj.get("city")
    if city is None:
        city = ""
    elif type(city) is not str or len(city) > 64:
        raise Invalid(R.INVALID_FIELD, "city must be a string of at most 64 chars", event_id)
    e.city = city

    location = obj.get("location")
    e.lat = e.lon = None
    if location is not None:
        if type(location) is not dict:
            raise Invalid(R.INVALID_LOCATION, "location must be an object {lat, lon}", event_id)
        # Judged as floats (the fast path's reading): 90.00000000000000000001 is 90.0.
        lat, lon = _coordinate(location.get("lat")), _coordinate(location.get("lon"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Invalid(R.INVALID_LOCATION, "location lat/lon missing or out of range", event_id)
        e.lat, e.lon = lat, lon
    metadata = obj.get("metadata")
    if metadata is not None and type(metadata) is not dict:
        raise Invalid(R.INVALID_FIELD, "metadata must be an object", event_id)
    return e


def parse(raw, now=None):
    """bytes, str or dict -> Event; raises Invalid. Bytes in the ordinary shape take
    the fast path (`fast_parse`), everything else the full validator."""
    if isinstance(raw, dict):
        return validate(raw, now)
    if now is None:
        now = datetime.now(UTC)
    event = fast_parse(raw, now)
    return event if event is not None else validate(loads(raw), now)


def event_id_of(raw):
    """Best effort event_id of a raw message (for the dead-letter row)."""
    try:
        obj = raw if isinstance(raw, dict) else orjson.loads(raw)
        value = obj.get("event_id")
        return value[:64] if isinstance(value, str) and not _unstorable(value) else ""
    except Exception:
        return ""


# ---------------------------------------------------------------- fast path
# The consumer's hot path: one C-level decode of the bytes into a typed struct
# that accepts only the ordinary shape of a valid event (amounts as plain
# decimal strings, RFC 3339 timestamps, ...). It is a strict SUBSET of what
# `validate` accepts and yields the same Event: whatever it does not accept -
# invalid events, but also valid ones in a rarer shape (JSON-number amounts,
# a NUL escape) - goes through `loads` + `validate`, which decide and give the
# reason. tests/dashboard/test_fast_validation.py holds the two to that.
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Label = Annotated[str, msgspec.Meta(max_length=64)]
# Amount shapes are checked in Python after the decode (measured: four regex
# constraints inside the decoder cost more than the whole decode without them).
_PLAIN_UNSIGNED = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,4})?").fullmatch


# Two shapes: the closed one (no key but the contract's: msgspec then decodes, and
# so checks as UTF-8, every byte of the message) for the ordinary event, and the
# open one for an event with extra keys, which msgspec skips unchecked: the
# message is checked whole first (`_decode_open`).
class _WireLocation(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]


class _OpenWireLocation(_WireLocation, forbid_unknown_fields=False):
    pass


class _WireEvent(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    event_id: _Id
    type: Literal[tuple(str(t) for t in EventType)]
    source: Literal["wallet", "connect"]
    occurred_at: str
    currency: str | None = None
    amount: str | None = None
    fee: str | None = None
    cost: str | None = None
    balance: str | None = None
    merchant_id: _Id | None = None
    agent_id: _Id | None = None
    bank_id: _Id | None = None
    country: str | None = None
    region: _Label | None = None
    city: _Label | None = None
    location: _WireLocation | None = None
    metadata: dict | None = None


class _OpenWireEvent(_WireEvent, forbid_unknown_fields=False):
    location: _OpenWireLocation | None = None


_decode_wire = msgspec.json.Decoder(_WireEvent).decode
_WireError = msgspec.MsgspecError
_decode_open_wire = msgspec.json.Decoder(_OpenWireEvent).decode


def _too_many_brackets(raw):
    """More brackets than MAX_DEPTH: maybe too deep (then `loads` decides)."""
    return raw.count(b"{") + raw.count(b"[") > MAX_DEPTH


def _decode_open(raw):
    """An event with keys beyond the contract's (ignored), or None. msgspec checks
    UTF-8 only in what it decodes, not in the keys and values it skips (a
    bit-flipped key): the whole message must be UTF-8 and not too deep."""
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if _too_many_brackets(raw):
        return None
    try:
        return _decode_open_wire(raw)
    except (_WireError, RecursionError):
        return None


_BUCKETS = {}  # "YYYY-MM-DDTHH" of a UTC timestamp -> its hour bucket (bounded: see _hour)


def _hour(dt):
    if len(_BUCKETS) > 100_000:
        _BUCKETS.clear()
    return datetime(dt.year, dt.month, dt.day, dt.hour, tzinfo=UTC)


# (now, latest acceptable occurred_at) of the batch being read: one tuple, swapped
# whole, so threads validating batches with different `now`s never mix them.
_future = (None, None)


def fast_parse(raw, now):
    """bytes -> Event for an event in the ordinary shape, else None (then `parse` decides).

    Never raises and never accepts what `parse` would reject."""
    if type(raw) is not bytes or b"\\u0000" in raw:  # (a NUL escape: `validate` decides)
        return None
    try:
        w = _decode_wire(raw)
    except _WireError:  # (not the ordinary shape: extra keys, or invalid)
        w = _decode_open(raw)
        if w is None:
            return None
    except RecursionError:
        return None
    else:
        # Every byte decoded, so UTF-8; only metadata can nest deeper than 2 levels.
        if w.metadata is not None and _too_many_brackets(raw):
            return None
    etype = w.type
    count_ix, amount_ix, counts_fee, sources = _RULES[etype]
    if w.source not in sources:
        return None
    currency = w.currency
    amount = w.amount
    if currency is None:
        if amount_ix is not None:
            return None
        currency = ""
    elif currency not in CURRENCIES:
        return None
    if amount is None and amount_ix is not None:
        return None
    country = w.country
    if country is None:
        country = "ZZ"
    elif country not in COUNTRIES:
        return None
    balance = w.balance
    if balance is not None:
        if not _PLAIN_DECIMAL(balance):
            return None
        balance = Decimal(balance)
    elif etype == "agent.float_updated":
        return None
    if etype == "agent.float_updated" and w.agent_id is None:
        return None
    # Plain non-negative decimals (inlined _plain_amount: this runs per event).
    if amount is not None:
        if (amount.isdigit() and amount.isascii() and len(amount) <= 14) or _PLAIN_UNSIGNED(amount):
            amount = Decimal(amount)
        else:
            return None
    fee = w.fee
    if fee is not None:
        if (fee.isdigit() and fee.isascii() and len(fee) <= 14) or _PLAIN_UNSIGNED(fee):
            fee = Decimal(fee)
        else:
            return None
    cost = w.cost
    if cost is not None:
        if (cost.isdigit() and cost.isascii() and len(cost) <= 14) or _PLAIN_UNSIGNED(cost):
            cost = Decimal(cost)
        else:
            return None
    stamp = w.occurred_at
    occurred_at = utc_instant(stamp)  # (parse_timestamp's reading, without its exception)
    if occurred_at is None:
        return None
    global _future
    future = _future
    if future[0] is not now:
        future = _future = (now, now + FUTURE_TOLERANCE)
    if occurred_at > future[1]:
        return None
    if stamp[-1] == "Z" or stamp[-6:] == "+00:00":
        # Already UTC: the hour bucket is the text's first 13 characters.
        bucket = _BUCKETS.get(stamp[:13])
        if bucket is None:
            bucket = _BUCKETS[stamp[:13]] = _hour(occurred_at)
    else:
        bucket = _hour(occurred_at)
    location = w.location
    return Event(
        w.event_id,
        etype,
        w.source,
        occurred_at,
        bucket,
        occurred_at.date(),
        count_ix,
        amount_ix,
        counts_fee,
        currency,
        amount,
        fee,
        cost,
        balance,
        w.merchant_id,
        w.agent_id,
        w.bank_id,
        country,
        w.region if w.region is not None else "",
        w.city if w.city is not None else "",
        None if location is None else location.lat,
        None if location is None else location.lon,
    )
