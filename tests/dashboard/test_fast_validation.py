"""The consumer's fast path (`fast_parse`) against the full validator (`validate`).

`fast_parse` must never accept what `validate` rejects, and when it accepts it must
give the very same Event; it may decline (None) anything, the full validator
then decides. Checked differentially over the demo producer's events and over
every field of the envelope set to awkward values or removed.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from dashboard.ingest.demo import DemoWorld
from dashboard.ingest.validation import Event, Invalid, fast_parse, loads, validate

NOW = datetime.now(UTC)


def full(raw, now=None):
    """The full validator alone (`parse` itself tries the fast path first)."""
    return validate(loads(raw), now or NOW)


BASE = {
    "event_id": "8d0f6c1e-3b7a-4d5e-9a51-0c1f4f7e2a10",
    "type": "payment.succeeded",
    "source": "connect",
    "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
    "merchant_id": "m_1042",
    "agent_id": "a_0001",
    "bank_id": "b_sgbs",
    "country": "SN",
    "region": "Dakar",
    "city": "Dakar",
    "currency": "XOF",
    "amount": "15000",
    "fee": "225",
    "cost": "60",
    "metadata": {"channel": "qr"},
}
FLOAT = {
    "event_id": "f-1",
    "type": "agent.float_updated",
    "source": "wallet",
    "occurred_at": "2026-01-05T10:15:03.250+01:00",
    "agent_id": "a_0001",
    "currency": "XOF",
    "balance": "-1500.25",
    "location": {"lat": 14.7167, "lon": -17.4677},
}

AWKWARD = [
    None, "", "x", "x" * 64, "x" * 65, "é" * 64, "é" * 65, 0, 1, -1, 1.5, 10**20, True, [], {},
    "15000", "15000.1234", "15000.12345", "-1", "-0", "+1", "1e3", "1E3", " 1", "1 ", "1\n",
    "1_000", "NaN", "Infinity", "１２３", "99999999999999", "100000000000000", ".5", "5.",
    "0.0001", "00012", "a\x00b", "a\tb", "a\\b", "XOF", "xof", "XTS", "SN", "sn", "ZZ", "GB",
    "wallet", "connect", "payment.failed", "agent.float_updated", "PAYMENT.FAILED",
    "2026-11-27T10:15:03+00:00", "2026-11-27T10:15:03Z", "2026-11-27t10:15:03z",
    "2026-11-27 10:15:03+00:00", "2026-11-27T10:15:03", "2026-11-27T10:15:03.123456789Z",
    "2026-11-27T10:15:03+05:30", "2026-11-27T10:15:03-14:00", "2026-11-27T10:15:03+25:00",
    "2026-13-27T10:15:03Z", "2026-11-27T24:00:00Z", "20261127T101503Z", "2026-11-27",
    (NOW + timedelta(minutes=4)).isoformat(), (NOW + timedelta(minutes=6)).isoformat(),
    {"lat": 14.7, "lon": -17.4}, {"lat": 91, "lon": 0}, {"lat": 0}, {"lat": "1", "lon": "2"},
    {"lat": True, "lon": 0}, {"lat": 0, "lon": 180, "alt": 3},
]  # fmt: skip


def assert_same_or_declined(raw, now=None):
    """The property: fast is None, or the full validator gives an equal Event."""
    fast = fast_parse(raw, now or NOW)
    try:
        full_event = full(raw, now)
    except Invalid as exc:
        assert fast is None, f"fast path accepted a rejected event ({exc.reason}): {raw!r}"
        return None
    if fast is not None:
        for name in Event.__struct_fields__:
            a, b = getattr(fast, name), getattr(full_event, name)
            assert a == b and type(a) is type(b), (name, a, b, raw)
    return fast


def test_demo_events_all_take_the_fast_path_with_identical_results():
    world = DemoWorld(seed=3)
    # The demo stamps events with the wall clock: judge them by the clock of this test,
    # not of the module's import (minutes earlier in a full run: "in the future").
    now = datetime.now(UTC)
    for _ in range(3000):
        raw = orjson.dumps(world.event())
        assert assert_same_or_declined(raw, now) is not None, raw


@pytest.mark.parametrize("base", [BASE, FLOAT], ids=["payment", "float"])
def test_every_field_set_to_awkward_values_never_diverges(base):
    fields = set(BASE) | set(FLOAT) | {"balance", "location", "extra"}
    for field in sorted(fields):
        without = {k: v for k, v in base.items() if k != field}
        assert_same_or_declined(orjson.dumps(without))
        for value in AWKWARD:
            event = dict(base, **{field: value})
            try:
                raw = orjson.dumps(event)
            except orjson.JSONEncodeError:  # 10**20: written as the stdlib writes it
                import json

                raw = json.dumps(event).encode()
            assert_same_or_declined(raw)


def test_fast_path_keeps_exact_decimals_and_utc_buckets():
    event = fast_parse(orjson.dumps(FLOAT), NOW)
    assert event.balance == Decimal("-1500.25")
    assert event.occurred_at == datetime(2026, 1, 5, 9, 15, 3, 250000, tzinfo=UTC)
    assert event.bucket == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert event.day.isoformat() == "2026-01-05"
    late_evening = dict(BASE, occurred_at="2026-01-05T23:59:59.999-00:30")
    assert fast_parse(orjson.dumps(late_evening), NOW).bucket == datetime(2026, 1, 6, 0, tzinfo=UTC)


def test_shapes_the_fast_path_declines_are_still_counted_by_the_full_validator():
    for shape in ({"amount": 15000}, {"amount": 1.25}, {"fee": 0}, {"cost": 60}):
        raw = orjson.dumps(dict(BASE, **shape))
        assert fast_parse(raw, NOW) is None
        assert full(raw).event_id == BASE["event_id"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id":"a\\u0000b","type":"payment.failed","source":"connect",'
        b'"occurred_at":"2026-11-27T10:00:00Z"}',
        b'{"event_id":"a\\ud800b","type":"payment.failed","source":"connect",'
        b'"occurred_at":"2026-11-27T10:00:00Z","amount":1.5}',
        b'{"event_id":"ok","type":"payment.failed","source":"connect",'
        b'"occurred_at":"2026-11-27T10:00:00Z","city":"Da\\u0000kar"}',
    ],
    ids=["nul-id", "lone-surrogate-id", "nul-city"],
)
def test_text_postgresql_cannot_store_is_rejected_not_retried_forever(raw):
    assert fast_parse(raw, NOW) is None
    with pytest.raises(Invalid) as exc:
        full(raw)
    assert exc.value.reason == "invalid_field"
