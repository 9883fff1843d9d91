"""Property-based: every message gets ONE verdict, whichever path reads it.

Four readings of the same bytes must agree: `parse` (what the consumer runs: the
msgspec fast path, else orjson + `validate`), `loads` + `validate`, the stdlib
reference `reference_loads` + `validate`, and `fast_parse` alone (which may only
decline: None). Same accept/reject, same reason code, and for an accepted event
the same Event field by field; no path ever raises anything but `Invalid`, and no
input is ever `unprocessable`. Messages are valid events of every contract type
(hypothesis), then mutated: bit flips, truncation, invalid UTF-8, deep nesting,
huge numbers, every timestamp form, mangled and duplicate keys, non-objects.

Bounded for CI: derandomized (the same examples every run), a fixed number of
examples; the defects found from outside are pinned with @example.
"""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.ingest.choices import DeadLetterReason
from dashboard.ingest.iso import COUNTRIES, CURRENCIES
from dashboard.ingest.validation import (
    MAX_DEPTH,
    RULE_INDEX,
    Event,
    Invalid,
    fast_parse,
    loads,
    parse,
    reference_loads,
    validate,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
REASONS = set(DeadLetterReason.values) - {DeadLetterReason.UNPROCESSABLE}
BOUNDED = settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TYPES = sorted(RULE_INDEX)
MONEY_FIELDS = ("amount", "fee", "cost", "balance")


# ------------------------------------------------------------------ the verdicts
def _outcome(read, raw):
    """("accepted", fields) or ("rejected", reason); anything else raised fails the test."""
    try:
        event = read(raw)
    except Invalid as exc:
        assert exc.reason in REASONS, (exc.reason, exc.detail, raw)
        assert exc.detail, raw
        return ("rejected", exc.reason)
    return ("accepted", _fields(event))


def _fields(event):
    return tuple(
        (name, type(getattr(event, name)).__name__, getattr(event, name))
        for name in Event.__struct_fields__
    )


def verdict(raw):
    """The one verdict of every path on `raw` (bytes), asserted equal; returned."""
    reference = _outcome(lambda r: validate(reference_loads(r), NOW), raw)
    assert _outcome(lambda r: validate(loads(r), NOW), raw) == reference, raw
    assert _outcome(lambda r: parse(r, NOW), raw) == reference, raw
    fast = fast_parse(raw, NOW)
    if fast is not None:
        assert reference == ("accepted", _fields(fast)), ("fast path diverges", raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # the service API's str payloads: the same verdict
        assert _outcome(lambda r: parse(r, NOW), text) == reference, raw
    return reference


# ------------------------------------------------------------------ JSON writing
class Num(str):
    """A JSON number written as its text (exact decimals, 1e400, 5000 digits...)."""


class Pairs(list):
    """A JSON object as (key, value) pairs: keys may repeat."""


def dumps(value, ascii_only=False):
    if isinstance(value, Num):
        return str(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, int | float):
        return json.dumps(value)
    items = (
        value if isinstance(value, Pairs) else value.items() if isinstance(value, dict) else None
    )
    if items is not None:
        inner = ",".join(f"{dumps(k, ascii_only)}:{dumps(v, ascii_only)}" for k, v in items)
        return "{" + inner + "}"
    return "[" + ",".join(dumps(v, ascii_only) for v in value) + "]"


def encode(value, ascii_only=False):
    return dumps(value, ascii_only).encode("utf-8")


# ------------------------------------------------------------------ valid events
TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
ids = st.text(TEXT, min_size=1, max_size=64)
labels = st.text(TEXT, max_size=64)
booleans = st.booleans()
# (Strategies are built once here: building them inside each draw was most of the run time.)
# A contract decimal as text: < 10^14, at most 4 decimals.
decimals = st.builds(
    lambda whole, frac: f"{whole}" + (f".{frac}" if frac else ""),
    st.integers(0, 10**14 - 1) | st.integers(0, 999),
    st.text("0123456789", max_size=4),
)
# As a string (the ordinary shape) or, one time in three, as a JSON number.
money = st.builds(lambda text, n: Num(text) if n == 0 else text, decimals, st.integers(0, 2))
signed_money = st.builds(lambda neg, text: type(text)("-" + text) if neg else text, booleans, money)


def _offset(minutes):
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


RECENT = st.datetimes(datetime(2000, 1, 1), (NOW + timedelta(minutes=4)).replace(tzinfo=None))
FRACTIONS = st.text("0123456789", max_size=9)
OFFSETS = st.sampled_from([0, 0, 60, -60, 330, -570, 840, -720]) | st.integers(-1439, 1439)
UTC_SUFFIXES = st.sampled_from(["Z", "z", "+00:00", "-00:00"])
SEPARATORS = st.sampled_from("TTt")


@st.composite
def stamps(draw):
    """A valid RFC 3339 timestamp at most 4 minutes ahead of NOW -> (text, UTC instant)."""
    digits = draw(FRACTIONS)
    instant = draw(RECENT).replace(tzinfo=UTC, microsecond=int((digits + "000000")[:6]))
    minutes = draw(OFFSETS)
    local = instant + timedelta(minutes=minutes)
    offset = draw(UTC_SUFFIXES) if minutes == 0 else _offset(minutes)
    text = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}{draw(SEPARATORS)}"
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
        + (f".{digits}" if digits else "")
        + offset
    )
    return text, instant


json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(TEXT, max_size=20)
)
metadata = st.dictionaries(
    st.text(TEXT, max_size=10),
    json_scalars | st.lists(json_scalars, max_size=3),
    max_size=4,
)
TYPE_ST = st.sampled_from(TYPES)
SOURCE_ST = {etype: st.sampled_from(sorted(rule[3])) for etype, rule in RULE_INDEX.items()}
CURRENCY_ST = st.sampled_from(sorted(CURRENCIES))
COUNTRY_ST = st.sampled_from(sorted(COUNTRIES))
LOCATION_ST = st.fixed_dictionaries(
    {
        "lat": st.floats(-90, 90) | st.integers(-90, 90),
        "lon": st.floats(-180, 180) | st.integers(-180, 180),
    }
)
UNKNOWN_KEY_ST = st.sampled_from(["extra", "trace_id", "merchant_idx", "é"])
RANDOM_ST = st.randoms(use_true_random=False)


@st.composite
def valid_events(draw):
    """A contract-valid event of any type -> (dict, expected UTC instant)."""
    etype = draw(TYPE_ST)
    stamp, instant = draw(stamps())
    event = {
        "event_id": draw(ids),
        "type": etype,
        "source": draw(SOURCE_ST[etype]),
        "occurred_at": stamp,
    }
    if RULE_INDEX[etype][1] is not None or draw(booleans):  # money types need both
        event["currency"] = draw(CURRENCY_ST)
        event["amount"] = draw(money)
    for field in ("fee", "cost"):
        if draw(booleans):
            event[field] = draw(money)
    if etype == "agent.float_updated":
        event["balance"] = draw(signed_money)
        event["agent_id"] = draw(ids)
    for field in ("merchant_id", "agent_id", "bank_id"):
        if field not in event and draw(booleans):
            event[field] = draw(ids)
    if draw(booleans):
        event["country"] = draw(COUNTRY_ST)
    for field in ("region", "city"):
        if draw(booleans):
            event[field] = draw(labels)
    if draw(booleans):
        event["location"] = draw(LOCATION_ST)
    if draw(booleans):
        event["metadata"] = draw(metadata)
    if draw(booleans):  # unknown fields are ignored
        event[draw(UNKNOWN_KEY_ST)] = draw(json_scalars)
    order = list(event)
    draw(RANDOM_ST).shuffle(order)
    return {k: event[k] for k in order}, instant


@st.composite
def wire(draw, event):
    """bytes of an event dict: UTF-8 as is, or every non-ASCII character escaped."""
    return encode(event, ascii_only=draw(booleans))


@BOUNDED
@given(st.data())
def test_valid_events_of_every_type_are_accepted_alike_with_their_values(data):
    event, instant = data.draw(valid_events())
    raw = data.draw(wire(event))
    outcome = verdict(raw)
    assert outcome[0] == "accepted", (outcome, raw)
    parsed = {name: value for name, _, value in outcome[1]}
    assert parsed["event_id"] == event["event_id"]
    assert (parsed["type"], parsed["source"]) == (event["type"], event["source"])
    assert parsed["occurred_at"] == instant
    assert parsed["bucket"] == instant.replace(minute=0, second=0, microsecond=0)
    assert parsed["day"] == instant.date()
    for field in MONEY_FIELDS:
        expected = Decimal(event[field]) if field in event else None
        assert parsed[field] == expected, field
    for field in ("merchant_id", "agent_id", "bank_id"):
        assert parsed[field] == event.get(field)
    assert parsed["country"] == event.get("country", "ZZ")
    assert (parsed["region"], parsed["city"]) == (event.get("region", ""), event.get("city", ""))
    if "location" in event:
        location = event["location"]
        assert (parsed["lat"], parsed["lon"]) == (float(location["lat"]), float(location["lon"]))
    # The ordinary shape (amounts as strings, nothing unusual) takes the fast path.
    if not any(isinstance(event.get(f), Num) for f in MONEY_FIELDS):
        assert fast_parse(raw, NOW) is not None, raw


# ------------------------------------------------------------------ mutations
def _rfc(d, offset="Z", sep="T", frac=""):
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}{sep}{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        f"{frac}{offset}"
    )


def _timestamp_forms(d, minutes):
    """Every written form of an instant, valid or not."""
    iso_year, iso_week, iso_day = d.isocalendar()
    hms = f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    off = _offset(minutes)
    return [
        _rfc(d, off),
        _rfc(d),
        _rfc(d, "z", "t"),
        _rfc(d, off, " "),
        _rfc(d, ""),  # no offset
        _rfc(d, off.replace(":", "")),  # +0100
        _rfc(d, off[:3]),  # +01
        _rfc(d, off + ":00"),  # +01:00:00
        _rfc(d, "+24:00"),
        _rfc(d, "-25:00"),
        _rfc(d, "+23:60"),
        _rfc(d, "+01:60"),  # (fromisoformat alone reads it as +02:00)
        _rfc(d, "+99:99"),
        _rfc(d, "Z" + off),
        _rfc(d, off, frac=".1234567891"),  # 10 fraction digits
        _rfc(d, off, frac="."),
        _rfc(d, off, frac=",5"),
        f"{iso_year:04d}-W{iso_week:02d}-{iso_day}T{hms}{off}",  # week date
        f"{d.year:04d}-{d.timetuple().tm_yday:03d}T{hms}{off}",  # ordinal date
        f"{d.year:04d}{d.month:02d}{d.day:02d}T{d.hour:02d}{d.minute:02d}{d.second:02d}Z",
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}{off}",  # no seconds
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
        _rfc(d)[:17] + "60Z",  # leap second
        _rfc(d)[:11] + "24:00:00Z",
        _rfc(d) + "\n",
        " " + _rfc(d),
        _rfc(d).replace("2", "\uff12"),  # full-width digits
        f"0001-01-01T00:{d.minute:02d}:00{off}",  # offsets past datetime.min
        f"9999-12-31T23:{d.minute:02d}:59{off}",  # ... and datetime.max
        "0000-01-01T00:00:00Z",
        f"{d.year:04d}-02-30T00:00:00Z",
        f"{d.year:04d}-13-01T00:00:00Z",
    ]


ANY_INSTANT = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)) | st.sampled_from(
    [datetime(1, 1, 1, 0, 30), datetime(9999, 12, 31, 23, 30), datetime(2026, 11, 27, 10, 15)]
)
ANY_OFFSET = st.sampled_from([60, -60, 0, 840, -840, 1439, -1439]) | st.integers(-1439, 1439)
FORM_ST = st.integers(0, len(_timestamp_forms(datetime(2026, 1, 1), 0)) - 1)


@st.composite
def timestamp_texts(draw):
    return _timestamp_forms(draw(ANY_INSTANT), draw(ANY_OFFSET))[draw(FORM_ST)]


HUGE_NUMBERS = [
    "1e400", "-1e400", "1e-400", "1E3", "1.5e2", "-0", "-0.0", "0.00001", "1.00000",
    "99999999999999.9999", "100000000000000", "9" * 30, "-" + "9" * 30, "9" * 5000,
    "1e99999999999999999999", "1e-99999999999999999999", "18446744073709551616",
    "90.00000000000000000001", "-180.0000000000000000001", "1" + "0" * 400,
]  # fmt: skip
AWKWARD = [
    None, "", "x" * 65, "é" * 65, True, False, 0, -1, 1.5, [], {}, [1], {"lat": 1},
    "NaN", "１２３", "a\x00b", "a\\ud800b", "15000.12345", "-1", "+1", " 1", "1 ", "XOF",
    "xof", "SN", "sn", "connect", "wallet", "payment.failed", "agent.float_updated",
    {"lat": 91, "lon": 0}, {"lat": True, "lon": 0}, {"lat": "1", "lon": "2"},
]  # fmt: skip
FIELDS = [
    "event_id", "type", "source", "occurred_at", "currency", "amount", "fee", "cost",
    "balance", "merchant_id", "agent_id", "bank_id", "country", "region", "city",
    "location", "metadata", "extra",
]  # fmt: skip
INVALID_UTF8 = [
    b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xed\xa0\x80",  # a surrogate
    b"\xc0\xaf", b"\xe0\x80\xaf",  # overlong
    b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",  # beyond U+10FFFF
]  # fmt: skip


def nested(depth, leaf=1, kind="["):
    close = {"[": "]", "{": "}"}[kind]
    opener = '{"k":' if kind == "{" else "["
    return Num(opener * depth + json.dumps(leaf) + close * depth)


AWKWARD_VALUES = st.deferred(
    lambda: st.one_of(
        st.sampled_from(AWKWARD),
        st.sampled_from(HUGE_NUMBERS).map(Num),
        st.sampled_from(HUGE_NUMBERS),  # as strings
        timestamp_texts(),
        st.builds(
            nested,
            st.sampled_from([1, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 1000]),
            st.sampled_from([1, "x", None]),
            st.sampled_from("[{"),
        ),
        st.builds(
            lambda lat, lon: {"lat": Num(lat), "lon": Num(lon)},
            st.sampled_from(HUGE_NUMBERS),
            st.sampled_from(HUGE_NUMBERS),
        ),
    )
)
FIELD_ST = st.sampled_from(FIELDS)
HOW_ST = st.sampled_from(["set", "set", "remove", "rename", "duplicate"])
BITS = st.integers(0, 7)
POSITION_ST = st.floats(0, 1, exclude_max=True)  # where in a message, as a fraction of it


@st.composite
def field_mutations(draw, event):
    """A field set to an awkward value, removed, renamed or given twice."""
    field = draw(FIELD_ST)
    how = draw(HOW_ST)
    pairs = Pairs((k, v) for k, v in event.items() if k != field or how != "remove")
    if how == "set":
        pairs = Pairs((k, v) for k, v in pairs if k != field)
        pairs.insert(int(draw(POSITION_ST) * (len(pairs) + 1)), (field, draw(AWKWARD_VALUES)))
    elif how == "rename" and field in event:
        raw_key = bytearray(field.encode())
        raw_key[int(draw(POSITION_ST) * len(raw_key))] ^= 1 << draw(BITS)
        key = bytes(raw_key).decode("utf-8", "replace")
        pairs = Pairs((key if k == field else k, v) for k, v in pairs)
    elif how == "duplicate":
        pairs.insert(int(draw(POSITION_ST) * (len(pairs) + 1)), (field, draw(AWKWARD_VALUES)))
    return encode(pairs, ascii_only=draw(booleans))


BYTE_HOW_ST = st.sampled_from(["flip", "flip", "truncate", "utf8", "delete", "wrap"])
FLIPS_ST = st.integers(1, 3)
INVALID_UTF8_ST = st.sampled_from(INVALID_UTF8)
WRAPS_ST = st.sampled_from(
    [
        (b"\xef\xbb\xbf", b""),  # BOM
        (b"", b" x"),
        (b"", b"}"),
        (b"", b"\x00"),
        (b"", b" \n\t\r"),  # JSON whitespace: fine
        (b"[", b"]"),
        (b'{"a":', b"}"),
        (b"", b"\x0c"),
        (b" ", b""),
    ]
)


@st.composite
def byte_mutations(draw, raw):
    """Bytes damaged: bit flips, truncation, invalid UTF-8, deletions, garbage around."""
    how = draw(BYTE_HOW_ST)
    data = bytearray(raw)

    def position():
        return int(draw(POSITION_ST) * len(data))

    if how == "flip":
        for _ in range(draw(FLIPS_ST)):
            data[position()] ^= 1 << draw(BITS)
    elif how == "truncate":
        del data[position() :]
    elif how == "utf8":
        i = position()
        data[i:i] = draw(INVALID_UTF8_ST)
    elif how == "delete":
        i = position()
        del data[i : i + draw(FLIPS_ST)]
    else:
        prefix, suffix = draw(WRAPS_ST)
        data = bytearray(prefix + bytes(data) + suffix)
    return bytes(data)


KIND_ST = st.sampled_from(["field", "field", "bytes", "both", "other"])
OTHER_ST = st.sampled_from(
    [b"", b" ", b"null", b"[]", b"1", b'"x"', b"{}", b"{", b"\xef\xbb\xbf{}", b"nan"]
)


@st.composite
def messages(draw):
    """A message near a valid one: most are invalid, some still valid."""
    event, _ = draw(valid_events())
    kind = draw(KIND_ST)
    if kind == "other":
        return draw(OTHER_ST)
    raw = draw(field_mutations(event)) if kind in ("field", "both") else encode(event)
    return draw(byte_mutations(raw)) if kind in ("bytes", "both") else raw


def _message(**fields):
    event = {
        "event_id": "e-defect",
        "type": "payment.succeeded",
        "source": "connect",
        "occurred_at": "2026-11-27T10:15:03+00:00",
        "merchant_id": "m_1042",
        "currency": "XOF",
        "amount": "15000",
    }
    event.update(fields)
    return encode({k: v for k, v in event.items() if v is not None})


# The defects found from outside, always checked (with the verdict they must get).
DEFECTS = {
    # A bit-flipped key, not UTF-8: msgspec skipped it, the event counted without its merchant.
    "bit-flipped key": (_message().replace(b'"merchant_id"', b'"merch\xe1nt_id"'), "invalid_json"),
    "invalid UTF-8 in an unknown value": (
        _message().replace(b'"currency"', b'"x":"\xff","currency"'),
        "invalid_json",
    ),
    "+0100": (_message(occurred_at="2026-11-27T10:15:03+0100"), "invalid_timestamp"),
    "week date": (_message(occurred_at="2026-W48-1T01:00:00+00:00"), "invalid_timestamp"),
    "ordinal date": (_message(occurred_at="2026-331T01:00:00+00:00"), "invalid_timestamp"),
    "+01": (_message(occurred_at="2026-11-27T10:15:03+01"), "invalid_timestamp"),
    "space": (_message(occurred_at="2026-11-27 10:15:03+00:00"), "invalid_timestamp"),
    "leap second": (_message(occurred_at="2016-12-31T23:59:60Z"), "invalid_timestamp"),
    "24:00": (_message(occurred_at="2026-11-27T24:00:00Z"), "invalid_timestamp"),
    "before year 1": (_message(occurred_at="0001-01-01T00:30:00+01:00"), "invalid_timestamp"),
    "after year 9999": (_message(occurred_at="9999-12-31T23:30:00-01:00"), "invalid_timestamp"),
    "deep nesting": (_message(metadata=nested(100_000)), "invalid_json"),
    "deep nesting, unknown field": (_message(extra=nested(MAX_DEPTH)), "invalid_json"),
    "1e400 amount": (_message(amount=Num("1e400")), "invalid_amount"),
    "huge int amount": (_message(amount=Num("9" * 5000)), "invalid_amount"),
    "huge exponent, unknown field": (_message(extra=Num("1e99999999999999999999")), "accepted"),
    "NaN amount": (_message(amount=Num("NaN")), "invalid_json"),
    "lat just above 90 reads as 90.0": (
        _message(location={"lat": Num("90.00000000000000000001"), "lon": 0}),
        "accepted",
    ),
    "lat beyond float range": (
        _message(location={"lat": Num("9" * 400), "lon": 0}),
        "invalid_location",
    ),
    "duplicate key, last wins": (
        encode(Pairs(list(json.loads(_message()).items()) + [("amount", "-1")])),
        "negative_amount",
    ),
    "BOM": (b"\xef\xbb\xbf" + _message(), "invalid_json"),
    "trailing garbage": (_message() + b" x", "invalid_json"),
    "empty": (b"", "invalid_json"),
    "not an object": (b"[1, 2]", "invalid_json"),
}


@pytest.mark.parametrize("raw, expected", DEFECTS.values(), ids=DEFECTS.keys())
def test_defects_found_from_outside_get_their_verdict(raw, expected):
    outcome = verdict(raw)
    if expected == "accepted":
        assert outcome[0] == "accepted", outcome
    else:
        assert outcome == ("rejected", expected)


def _with_examples(test):
    for raw, _ in DEFECTS.values():
        test = example(raw=raw)(test)
    return test


@settings(BOUNDED, max_examples=600)
@_with_examples
@given(raw=messages())
def test_every_message_gets_the_same_verdict_on_every_path(raw):
    verdict(raw)


@BOUNDED
@given(stamp=timestamp_texts())
@example(stamp="2026-W48-1T01:00:00+00:00")
@example(stamp="0001-01-01T00:30:00+01:00")
def test_every_timestamp_form_gets_the_same_verdict_and_only_rfc_3339_is_read(stamp):
    outcome = verdict(_message(occurred_at=stamp))
    strict = (
        len(stamp) >= 20
        and stamp[4] == stamp[7] == "-"
        and stamp[10] in "Tt"
        and stamp[13] == stamp[16] == ":"
        and stamp[:4].isascii()
    )
    if outcome[0] == "accepted":
        # Only the RFC 3339 shape can be accepted, and it is read as fromisoformat reads it.
        assert strict, stamp
        fixed = stamp[:-1] + "Z" if stamp[-1] == "z" else stamp
        assert {n: v for n, _, v in outcome[1]}["occurred_at"] == (
            datetime.fromisoformat(fixed).astimezone(UTC)
        )
    else:
        assert outcome[1] in ("invalid_timestamp", "future_timestamp"), (stamp, outcome)


def test_nesting_limit_is_exact_and_ignores_brackets_inside_strings():
    assert verdict(_message(metadata=nested(MAX_DEPTH - 1, kind="{")))[0] == "accepted"
    assert verdict(_message(metadata=nested(MAX_DEPTH, kind="{"))) == ("rejected", "invalid_json")
    brackets = "[" * 500 + "{" * 500
    assert verdict(_message(metadata={"note": brackets}))[0] == "accepted"


def test_a_valid_date_is_required_not_just_its_shape():
    assert verdict(_message(occurred_at="2024-02-29T10:00:00Z"))[0] == "accepted"
    for stamp in ("2026-02-29T10:00:00Z", "2026-04-31T10:00:00Z", "2026-00-10T10:00:00Z"):
        assert verdict(_message(occurred_at=stamp)) == ("rejected", "invalid_timestamp"), stamp
    outcome = verdict(_message(occurred_at="2026-11-27T00:30:00+01:00"))
    parsed = {name: value for name, _, value in outcome[1]}
    assert (parsed["day"], parsed["bucket"]) == (
        date(2026, 11, 26),
        datetime(2026, 11, 26, 23, tzinfo=UTC),
    )


# ------------------------------------------------------------------ end to end
@pytest.mark.django_db
def test_a_batch_mixing_valid_events_and_the_defects_counts_only_the_valid(
    ingest_event, ingest_rows
):
    """Through the consumer's own path (prepare_wire + apply_prepared), twice (a
    redelivery): the valid events are counted once, each defect is dead-lettered
    once with its reason, none of them counts anywhere."""
    from dashboard.ingest.services import WireBatch, apply_prepared, prepare_wire
    from dashboard.models import DeadLetter

    valid = [
        json.dumps(ingest_event(etype, merchant_id="m_good", fee="1")).encode()
        for etype in TYPES
        if etype != "agent.float_updated"
    ]
    bad = {}
    for i, (name, (raw, expected)) in enumerate(DEFECTS.items()):
        if expected != "accepted":
            raw = raw.replace(b'"e-defect"', f'"e-defect-{i}"'.encode())
            bad[name] = (raw.replace(b'"m_1042"', b'"m_bad"'), expected)
    values = []
    for i, raw in enumerate(valid):  # interleaved
        values.append(raw)
        values.extend(raw for raw, _ in list(bad.values())[i * 2 : i * 2 + 2])
    values.extend(raw for raw, _ in list(bad.values())[len(valid) * 2 :])
    n = len(values)
    wire = WireBatch(
        ["wallet.events"], values, [0] * n, [3] * n, list(range(100, 100 + n)), [None] * n
    )
    expected_reasons = {raw: reason for raw, reason in bad.values()}

    first = apply_prepared(prepare_wire(wire))
    assert first.counted == len(valid)
    assert sorted(d.reason for d in first.dead_letters) == sorted(expected_reasons.values())
    again = apply_prepared(prepare_wire(wire))
    assert (again.counted, again.duplicates) == (0, len(valid))

    letters = list(DeadLetter.objects.values_list("offset", "reason", "detail", "payload"))
    assert len(letters) == len(bad), letters  # once each, redelivery included
    for offset, reason, detail, payload in letters:
        assert bytes(payload) == values[offset - 100]
        assert reason == expected_reasons[bytes(payload)], (reason, bytes(payload)[:120])
        assert detail and "Error" not in detail.split(":")[0]
    assert ingest_rows("merchant", "m_bad") == ingest_rows("merchant", "nobody")
    good = ingest_rows("merchant", "m_good")
    assert good["attempts"] == 1 and good["failed_count"] == 1 and good["fees"] == 4
    platform = ingest_rows("platform")
    assert platform["success_count"] == good["success_count"] == 2
    assert platform["gmv"] == good["gmv"] == Decimal(30000)
