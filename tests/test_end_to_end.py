"""End to end: what users see equals an independent computation from the raw events.

Contract events (../shared/contracts/events.md) with duplicates, late and
out-of-order deliveries and one bad event per dead-letter reason go through the
real broker, the real consumer command, the real snapshot refresh and FX loader,
and the real API (JWT clients); every figure is recomputed from the raw event
list in plain Python (tests/e2e_reference.py) and compared exactly.

Wall clock: events are placed relative to `now` at generation; the expected
figures are computed for the window the API reports (`from`/`to`), which must be
the hour-aligned window of a moment during the test, so an hour boundary
crossed mid-test cannot make it flaky.
"""

import io
import json
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, Producer
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from common import dbroles
from dashboard.snapshots import cache as snapshot_cache
from tests import e2e_reference as ref

pytestmark = [pytest.mark.timeout(240)]

# Every data table of the data path (dashboard and agents apps), new ones included.
_TABLES_SQL = (
    "SELECT string_agg(quote_ident(c.relname), ', ') FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
    "AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "AND (c.relname LIKE 'dashboard\\_%' OR c.relname LIKE 'agents\\_%')"
)
PERIODS = {"today": None, "24h": timedelta(hours=24), "7d": timedelta(days=7),
           "30d": timedelta(days=30)}  # fmt: skip


@pytest.fixture
def e2e_clean(transactional_db):
    """Empty data tables before and after (the raw/partitioned ones survive Django's flush)."""

    def wipe():  # as the owner: the application's role may truncate nothing
        with dbroles.as_owner(), connection.cursor() as cur:
            cur.execute(_TABLES_SQL)
            cur.execute(f"TRUNCATE {cur.fetchone()[0]} CASCADE")
        # Snapshot bytes cached in Redis outlive the tables: drop this run's.
        client = snapshot_cache.client()
        keys = list(client.scan_iter(snapshot_cache.overview_key("*", "*")))
        client.delete(snapshot_cache.tick_key(), *keys)

    wipe()
    yield
    wipe()


def _produce(topics, messages):
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "linger.ms": 5})
    for kind, key, raw in messages:
        producer.produce(topics[kind], value=raw, key=key)
    assert producer.flush(15) == 0


def _consume(topics, group):
    out = io.StringIO()
    call_command(
        "consume_events",
        topics=",".join(topics.values()),
        group_id=group,
        batch_size=400,
        until_idle=2.5,
        stats_json=True,
        stdout=out,
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _refresh():
    out = io.StringIO()
    call_command("refresh_snapshots", stdout=out)
    stats = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (stats["failed"], stats["deferred"], stats["skipped_locked"]) == (0, 0, 0), stats
    return stats


def _read_topic(topic, expected, timeout=20):
    c = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"e2e-reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        got.extend(m for m in c.consume(num_messages=100, timeout=0.5) if m.error() is None)
    c.close()
    return got


class Mismatches:
    """Collects every difference, so one run reports all of them."""

    def __init__(self):
        self.items = []

    def eq(self, label, actual, expected):
        if actual != expected:
            self.items.append(f"{label}: got {actual!r}, expected {expected!r}")

    def rate(self, label, actual, expected, places):
        """A rate rendered with `places` decimals equals the exact ratio to its last unit."""
        if expected is None or actual is None:
            self.eq(label, actual, expected)
            return
        half_unit = Decimal(1).scaleb(-places) / 2
        if abs(Decimal(repr(actual)) - expected) > half_unit:
            self.items.append(f"{label}: got {actual!r}, expected {expected:.{places + 3}f}")

    def __bool__(self):
        return bool(self.items)


def _check_figures(m, label, body, expected):
    m.eq(f"{label} counts", {k: body["counts"].get(k) for k in ref.COUNTS}, expected["counts"])
    m.eq(f"{label} amounts", body["amounts"], expected["amounts"])
    for name, places in (("conversion_rate", 4), ("success_rate", 4), ("fraud_rate_bps", 2)):
        m.rate(f"{label} {name}", body["rates"].get(name), expected["rates"][name], places)
    m.eq(f"{label} converted", body["converted"], expected["converted"])


def _check_overview(m, label, body, scope, period, facts, rates, moments):
    frm, to = ref.parse_api_time(body["from"]), ref.parse_api_time(body["to"])
    m.eq(f"{label} scope/period", (body["scope"], body["period"]), (scope, period))
    # The window of some moment of the test: the end of its hour, back one period.
    ends = {ref.floor_hour(t) + ref.HOUR for t in moments}
    m.eq(f"{label} to is the end of a current hour", to in ends, True)
    length = PERIODS[period]
    start = ref.floor_day(to - ref.HOUR) if length is None else to - length
    m.eq(f"{label} from", frm, start)
    shift = ref.DAY if length is None else length
    prev = body["previous"]
    m.eq(f"{label} previous window", (prev.get("from"), prev.get("to")), (
        (frm - shift).strftime("%Y-%m-%dT%H:%M:%SZ"), (to - shift).strftime("%Y-%m-%dT%H:%M:%SZ")
    ))  # fmt: skip
    _check_figures(m, label, body, ref.figures(ref.window(facts, scope, frm, to), rates))
    m.eq(f"{label} as_of", body["as_of"], ref.as_of(facts, scope, frm, to))
    _check_figures(
        m,
        f"{label} previous",
        prev,
        ref.figures(ref.window(facts, scope, frm - shift, to - shift), rates),
    )
    m.eq(f"{label} float", body["float"], ref.floats(facts, scope))
    tops = [(t["country"], t["gmv"], t["missing_rates"]) for t in body["top_countries"]]
    m.eq(f"{label} top_countries", tops, ref.top(facts, scope, frm, to, "country", rates))
    m.eq(f"{label} top currency", {t["currency"] for t in body["top_countries"]} <= {"XOF"}, True)
    if scope == "platform" or scope.startswith("bank:"):
        # The platform's top merchants, and a bank's: merchants by GMV through that bank.
        tops = [(t["merchant_id"], t["gmv"], t["missing_rates"]) for t in body["top_merchants"]]
        m.eq(f"{label} top_merchants", tops, ref.top(facts, scope, frm, to, "merchant", rates))
    else:
        m.eq(f"{label} top_merchants", body["top_merchants"], [])
    spark = body["sparkline"]
    m.eq(f"{label} sparkline", (spark["metric"], spark["currency"]), ("gmv", "XOF"))
    m.eq(
        f"{label} sparkline points",
        spark["points"],
        ref.hourly_sparkline(facts, scope, frm, to, rates),
    )


RATE_PLACES = {"conversion_rate": 4, "success_rate": 4, "fraud_rate_bps": 2}


def _check_series(m, client, scope, metric, granularity, frm, to, facts, **cut):
    """One time series (JSON and CSV) against the reference; `cut`: currency, source, geo."""
    params = {"scope": scope, "granularity": granularity, "from": frm.isoformat(),
              "to": to.isoformat(), **cut}  # fmt: skip
    label = f"timeseries {metric} {scope} {granularity} {cut}"
    resp = client.get(f"/api/dashboard/metrics/{metric}/timeseries", params)
    if resp.status_code != 200:
        m.items.append(f"{label}: HTTP {resp.status_code} {resp.content[:300]!r}")
        return
    body = resp.json()
    m.eq(f"{label} header", (body["metric"], body["scope"], body["granularity"], body["currency"]),
         (metric, scope, granularity, cut.get("currency")))  # fmt: skip
    m.eq(f"{label} range", (body["from"], body["to"]),
         (frm.strftime("%Y-%m-%dT%H:%M:%SZ"), to.strftime("%Y-%m-%dT%H:%M:%SZ")))  # fmt: skip
    step = ref.HOUR if granularity == "hour" else ref.DAY
    expected = ref.series(facts, scope, metric, frm, to, step, **cut)
    got = [(p["t"], p["value"]) for p in body["points"]]
    m.eq(f"{label} buckets", [t for t, _ in got], [t for t, _ in expected])
    for (t, value), (_, want) in zip(got, expected, strict=False):
        if metric in RATE_PLACES:
            m.rate(f"{label} {t}", value, want, RATE_PLACES[metric])
        else:
            m.eq(f"{label} {t}", value, want)
    csv = client.get(f"/api/dashboard/metrics/{metric}/timeseries", {**params, "format": "csv"})
    lines = csv.content.decode().splitlines()
    m.eq(f"{label} csv", lines, ["t,value"] + [f"{t},{'' if v is None else v}" for t, v in got])


def _check_agent(m, client, agent, facts, moments):
    """The agent detail (float gauge, float history, sales) against the raw events."""
    resp = client.get(f"/api/dashboard/agents/{agent}", {"hours": 24 * 31})
    label = f"agent {agent}"
    if resp.status_code != 200:
        m.items.append(f"{label}: HTTP {resp.status_code} {resp.content[:300]!r}")
        return
    props = resp.json()["properties"]
    # sales_24h covers the current hour and the 23 before, as of the ingestion.
    candidates = [
        ref.agent_state(facts, agent, ref.floor_hour(t) - timedelta(hours=23)) for t in moments
    ]
    want = candidates[-1]
    got_at = ref.parse_api_time(props["float_updated_at"])
    m.eq(
        f"{label} float",
        (props["float_balance"], props["currency"], got_at, props["country"]),
        (want["float_balance"], want["currency"], want["float_updated_at"], want["country"]),
    )
    if props["sales_24h"] not in {c["sales_24h"] for c in candidates}:
        m.items.append(f"{label} sales_24h: got {props['sales_24h']}, expected {want['sales_24h']}")
    since = ref.floor_hour(timezone.now()) - timedelta(hours=24 * 31 - 1)
    history = {
        ref.parse_api_time(h["hour"]): (h["balance"], h["currency"],
                                        ref.parse_api_time(h["occurred_at"]))
        for h in props["float_history"]
    }  # fmt: skip
    m.eq(f"{label} float_history", history,
         {h: v for h, v in want["float_history"].items() if h >= since})  # fmt: skip
    sales = {
        (ref.parse_api_time(s["hour"]), s["currency"]):
            (s["cash_in_amount"], s["cash_out_amount"], s["sales"])
        for s in props["sales"]
    }  # fmt: skip
    m.eq(f"{label} sales", sales, {k: v for k, v in want["sales"].items() if k[0] >= since})


def test_dashboard_figures_equal_an_independent_computation_from_the_raw_events(
    e2e_clean,
    make_topic,
    settings,
    client_for,
    ops_admin,
    merchant_admin_m1,
    agent_user,
    region_sn,
    tmp_path,
):
    started = time.monotonic()
    now = timezone.now()
    gen = ref.generate(now)
    topics = {"wallet": make_topic("e2e.wallet"), "connect": make_topic("e2e.connect")}
    settings.KAFKA_DLQ_TOPIC = make_topic("e2e.dlq")
    group = f"e2e-{uuid.uuid4().hex[:8]}"

    # FX rates of every day involved, through the loader command (CSV).
    rate_rows = ref.rate_rows(now.date())
    csv_path = tmp_path / "rates.csv"
    csv_path.write_text(
        "currency,quote_currency,rate_date,rate\n"
        + "".join(f"{c},XOF,{d.isoformat()},{r}\n" for c, d, r in rate_rows)
    )
    call_command("load_fx_rates", str(csv_path), stdout=io.StringIO())
    rates = ref.RateTable(rate_rows)

    # Phase 1, a refresh (rollups written), then phase 2: redeliveries, late
    # events into hours already rolled up, stale and newer float updates.
    _produce(topics, gen.phases[0])
    stats = [_consume(topics, group)]
    _refresh()
    _produce(topics, gen.phases[1])
    stats.append(_consume(topics, group))
    consumed_at = [now, timezone.now()]

    # Time series read the aggregates exactly even while scopes are still dirty
    # (late events landed in hours whose rollups were already written).
    m = Mismatches()
    facts = ref.facts(gen.valid)
    staff = client_for(ops_admin)
    hour_to = ref.floor_hour(now) + ref.HOUR
    day_to = ref.floor_day(now) + ref.DAY
    ranges = {"hour": (hour_to - timedelta(hours=48), hour_to),
              "day": (day_to - timedelta(days=35), day_to)}  # fmt: skip
    from dashboard.models import DirtyScope

    m.eq("scopes dirty before the refresh", DirtyScope.objects.exists(), True)
    for scope, metric, granularity, cut in (
        ("platform", "gmv", "day", {"currency": "XOF"}),
        ("merchant:m_1", "attempts", "hour", {}),
        ("region:SN", "success_rate", "day", {}),
        ("bank:b_ecobank", "fees", "day", {"currency": "GHS"}),
    ):
        frm, to = ranges[granularity]
        _check_series(m, staff, scope, metric, granularity, frm, to, facts, **cut)
    m.items = [f"(while dirty) {item}" for item in m.items]

    _refresh()
    refreshed_at = timezone.now()
    total = Counter()
    for s in stats:
        total.update({k: s[k] for k in ("messages", "counted", "duplicates", "dead_letters")})
    m.eq(
        "consumer stats",
        dict(total),
        {
            "messages": gen.deliveries,
            "counted": len(gen.valid),
            "duplicates": gen.duplicate_deliveries,
            "dead_letters": len(gen.invalid),
        },
    )

    # Dead letters: one per bad message with the contract's reason, table and topic.
    from dashboard.models import DeadLetter

    want_letters = Counter((raw, reason) for raw, reason in gen.invalid)
    got_letters = Counter((bytes(d.payload), d.reason) for d in DeadLetter.objects.all())
    m.eq("dead letters (table)", got_letters, want_letters)
    published = _read_topic(settings.KAFKA_DLQ_TOPIC, len(gen.invalid))
    got_dlq = Counter((msg.value(), dict(msg.headers())["reason"].decode()) for msg in published)
    m.eq("dead letters (DLQ topic)", got_dlq, want_letters)

    moments = [now, refreshed_at, timezone.now() + timedelta(minutes=1)]
    views = [
        ("platform", [staff]),
        ("merchant:m_1", [staff, client_for(merchant_admin_m1)]),
        ("agent:a_1", [staff, client_for(agent_user)]),
        ("bank:b_sgbs", [staff]),
        ("region:SN", [staff, client_for(region_sn)]),
    ]
    for scope, clients in views:
        for period in PERIODS:
            bodies = []
            for i, client in enumerate(clients):
                resp = client.get("/api/dashboard/overview", {"scope": scope, "period": period})
                label = f"overview {scope} {period} as #{i}"
                if resp.status_code != 200:
                    m.items.append(f"{label}: HTTP {resp.status_code} {resp.content[:300]!r}")
                    continue
                body = json.loads(resp.content)
                bodies.append({k: v for k, v in body.items() if k != "stale"})
                if i == 0:
                    _check_overview(m, label, body, scope, period, facts, rates, moments)
            m.eq(f"overview {scope} {period}: same for every viewer", len(
                {json.dumps(b, sort_keys=True) for b in bodies}), 1)  # fmt: skip

    for scope in ("platform", "merchant:m_1", "region:SN"):
        for granularity, (frm, to) in ranges.items():
            _check_series(m, staff, scope, "gmv", granularity, frm, to, facts, currency="XOF")
            for metric in ("attempts", "success_rate", "conversion_rate"):
                _check_series(m, staff, scope, metric, granularity, frm, to, facts)
    day = ("day", *ranges["day"])
    hour = ("hour", *ranges["hour"])
    for scope, metric, (granularity, frm, to), cut in (
        ("platform", "gmv", day, {"currency": "GHS"}),
        ("platform", "gmv", day, {"currency": "NGN", "source": "connect"}),
        ("platform", "revenue", day, {"currency": "XOF", "country": "SN", "region": "Dakar"}),
        ("platform", "fees", hour, {"currency": "XOF", "city": "Pikine"}),
        ("platform", "attempts", day, {"country": "GH"}),
        ("platform", "fraud_rate_bps", day, {"currency": "XOF"}),
        ("platform", "refunds_amount", day, {"currency": "XOF", "source": "connect"}),
        ("platform", "payouts_count", day, {"source": "wallet"}),
        ("bank:b_gtb", "disputes_amount", day, {"currency": "XOF"}),
        ("agent:a_1", "sales", day, {"currency": "XOF"}),
        ("agent:a_4", "cash_in_amount", hour, {"currency": "GHS"}),
        ("region:SN", "success_count", hour, {"source": "wallet", "city": "Dakar"}),
        ("merchant:m_4", "gmv", day, {"currency": "GHS", "country": "GH"}),
    ):
        _check_series(m, staff, scope, metric, granularity, frm, to, facts, **cut)

    for agent in ref.AGENTS:
        _check_agent(m, staff, agent, facts, consumed_at)

    assert not m, f"{len(m.items)} mismatches:\n" + "\n".join(m.items[:80])
    # Guard the test itself: the data exercised what it claims to.
    types = Counter(f.type for f in facts)
    assert set(types) == set(ref.TYPES), types
    assert {f.currency for f in facts} >= {"XOF", "GHS", "NGN"}
    assert {r for _, r in gen.invalid} >= {
        "invalid_json", "missing_field", "invalid_field", "unknown_type", "invalid_source",
        "invalid_timestamp", "future_timestamp", "invalid_currency", "invalid_country",
        "invalid_amount", "negative_amount", "invalid_location",
    }  # fmt: skip
    print(f"e2e: {gen.deliveries} deliveries, {time.monotonic() - started:.1f}s")
