"""Top merchants of bank scopes: ingestion keeps GMV per (bank, hour, merchant, currency),
and the bank snapshot ranks it like the platform's list.

The expected lists are computed independently, in Python, from the events sent.
"""

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import orjson
import pytest
from django.db import connection

from accounts.scope import Scope
from dashboard.ingest.services import ingest
from dashboard.snapshots.fx import fx_rates_load
from dashboard.snapshots.periods import window
from dashboard.snapshots.refresh import snapshot_refresh_scope
from tests.dashboard.test_snapshots_support import clean_overview_cache  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]

NOW = datetime.now(UTC).replace(microsecond=0)
GMV_TYPES = {"payment.succeeded": "connect", "transfer.completed": "wallet"}
RATES = {"XOF": Decimal(1), "EUR": Decimal("655.957"), "USD": Decimal("601.3317")}


def event(occurred_at, etype, *, merchant=None, bank=None, currency="XOF", amount="1000"):
    source = GMV_TYPES.get(etype, "connect")
    e = {
        "event_id": uuid.uuid4().hex,
        "type": etype,
        "source": source,
        "occurred_at": occurred_at.isoformat(),
        "country": "SN",
        "region": "Dakar",
        "city": "Dakar",
        "currency": currency,
        "amount": amount,
    }
    if merchant:
        e["merchant_id"] = merchant
    if bank:
        e["bank_id"] = bank
    return e


def refresh(scope_text):
    entries = snapshot_refresh_scope(scope=Scope.parse(scope_text), now=NOW)
    return {p: orjson.loads(body) for p, (body, _c, _w) in entries.items()}


def expected_top(events, bank, period, limit=10):
    """Independent ranking: GMV events of `bank` in the window, each (merchant, currency,
    UTC day) sum at that day's rate rounded half-up to 4 places, missing rates listed."""
    frm, to, _pf, _pt = window(period, NOW)
    sums = defaultdict(Decimal)
    for e in events:
        t = datetime.fromisoformat(e["occurred_at"])
        if e.get("bank_id") != bank or e["type"] not in GMV_TYPES or "merchant_id" not in e:
            continue
        if frm <= t.replace(minute=0, second=0) < to:
            sums[(e["merchant_id"], e["currency"], t.astimezone(UTC).date())] += Decimal(
                e["amount"]
            )
    conv, missing = defaultdict(Decimal), defaultdict(set)
    for (merchant, currency, _day), gmv in sums.items():
        if gmv == 0:
            continue
        conv[merchant] += Decimal(0)
        if currency in RATES:
            conv[merchant] += (gmv * RATES[currency]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        else:
            missing[merchant].add(currency)
    ranked = sorted(conv, key=lambda m: (-conv[m], m))[:limit]
    return [
        {
            "merchant_id": m,
            "gmv": format(conv[m].normalize(), "f") if conv[m] else "0",
            "currency": "XOF",
            "missing_rates": sorted(missing[m]),
        }
        for m in ranked
    ]


@pytest.fixture
def rates():
    # Rates dated 40 days back apply to every day of the windows.
    day = (NOW - timedelta(days=40)).date()
    fx_rates_load(rows=[(c, "XOF", day, str(r)) for c, r in RATES.items() if c != "XOF"])


def test_bank_top_merchants_equal_an_independent_computation(rates):
    rng = random.Random(4)
    events = []
    for _ in range(400):
        etype = rng.choice(
            ["payment.succeeded", "payment.succeeded", "transfer.completed", "refund.succeeded"]
        )
        ago = timedelta(minutes=rng.randrange(5, 60 * 24 * 9))  # up to 9 days back
        events.append(
            event(
                NOW - ago,
                etype,
                merchant=f"m_{rng.randrange(14):02d}" if rng.random() < 0.95 else None,
                bank=rng.choice(["b_one", "b_two", None]),
                currency=rng.choice(["XOF", "XOF", "XOF", "EUR", "USD", "GHS"]),
                amount=f"{rng.randrange(100, 90000)}.{rng.randrange(100):02d}",
            )
        )
    # Several batches, one event redelivered in a later batch (counted once).
    ingest(events[:150])
    ingest(events[150:300] + events[10:12])
    result = ingest(events[300:] + [events[5]])
    assert result.duplicates == 1 and not result.dead_letters
    for bank in ("b_one", "b_two"):
        payload = refresh(f"bank:{bank}")
        for period in ("today", "24h", "7d", "30d"):
            assert payload[period]["top_merchants"] == expected_top(events, bank, period), (
                bank,
                period,
            )
        assert len(payload["7d"]["top_merchants"]) == 10  # 14 merchants: the limit applies
        assert any(m["missing_rates"] == ["GHS"] for m in payload["30d"]["top_merchants"])


def test_bank_merchant_table_counts_only_gmv_events_naming_both_ids():
    t = NOW - timedelta(hours=2)
    events = [
        event(t, "payment.succeeded", merchant="m_a", bank="b_x", amount="100.5"),
        event(t, "transfer.completed", merchant="m_a", bank="b_x", amount="20"),
        event(t, "refund.succeeded", merchant="m_a", bank="b_x", amount="7"),  # not GMV
        event(t, "payment.succeeded", merchant="m_b", amount="999"),  # no bank
        event(t, "payment.succeeded", bank="b_x", amount="555"),  # no merchant
    ]
    ingest(events)
    ingest(events)  # full redelivery: nothing more
    with connection.cursor() as cur:
        cur.execute(
            "SELECT bank_id, merchant_id, currency, sum(gmv) FROM dashboard_bank_merchant_hourly "
            "WHERE bank_id = 'b_x' OR merchant_id = 'm_b' GROUP BY 1, 2, 3"
        )
        assert cur.fetchall() == [("b_x", "m_a", "XOF", Decimal("120.5"))]
    top = refresh("bank:b_x")["24h"]["top_merchants"]
    assert top == [{"merchant_id": "m_a", "gmv": "120.5", "currency": "XOF", "missing_rates": []}]
    # Same shape as the platform's list.
    platform = refresh("platform")["24h"]
    assert platform["top_merchants"] == [] or set(platform["top_merchants"][0]) == set(top[0])


def test_bank_without_merchant_events_has_an_empty_list():
    ingest([event(NOW - timedelta(hours=1), "payment.succeeded", bank="b_lone")])
    payload = refresh("bank:b_lone")
    assert payload["24h"]["amounts"]["XOF"]["gmv"] == "1000"
    assert payload["24h"]["top_merchants"] == []
