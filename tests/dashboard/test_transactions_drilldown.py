"""Every figure equals the sum of the events its drill-down lists, to the unit.

Generated data (a fixed generator: derandomized) with in-batch and cross-batch
duplicates (one redelivery even carries a different amount: the first counted
wins), events out of order and days late; the figures are the overview
snapshots' (every period of several scopes) and the time series' (every bucket
of every metric), and an independent computation from the generated events.
"""

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from django.db import connection

from accounts.scope import Scope
from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.ingest.services import ingest
from dashboard.ingest.validation import RULES
from dashboard.snapshots.compute import compute_scope, money, ratio
from dashboard.snapshots.timeseries import METRICS, SeriesQuery, series_points
from dashboard.transactions import drilldown
from dashboard.transactions.selectors import TxQuery, drilldown_sum

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
WALLET_ONLY = {"transfer.completed", "cash_in.completed", "cash_out.completed"}


def _generate(seed=16, n=420):
    """(batches of payloads, the unique events as counted: first delivery wins)."""
    rnd = random.Random(seed)
    types = [str(t) for t in RULES if str(t) != "agent.float_updated"]
    events = []
    for i in range(n):
        etype = rnd.choice(types)
        sources = [str(s) for s in RULES[etype][3]]
        # Most in the last 30 hours; some days back (7d and 30d periods, late arrivals).
        back = timedelta(minutes=rnd.randrange(0, 30 * 60))
        if rnd.random() < 0.2:
            back = timedelta(days=rnd.randrange(2, 25), minutes=rnd.randrange(0, 1440))
        e = {
            "event_id": f"g-{i}",
            "type": etype,
            "source": rnd.choice(sources),
            "occurred_at": (NOW - back).isoformat(),
            "country": rnd.choice(["SN", "SN", "CI"]),
            "region": rnd.choice(["Dakar", "Thies", ""]),
            "city": rnd.choice(["Dakar", "Mbour", ""]),
            "currency": rnd.choice(["XOF", "XOF", "GHS"]),
        }
        if RULES[etype][1]:  # a money type
            e["amount"] = str(Decimal(rnd.randrange(0, 10**8)) / Decimal(10**4))
        if rnd.random() < 0.7:
            e["fee"] = str(Decimal(rnd.randrange(0, 10**6)) / 100)
        if rnd.random() < 0.5:
            e["cost"] = str(Decimal(rnd.randrange(0, 10**5)) / 100)
        if rnd.random() < 0.8:
            e["merchant_id"] = rnd.choice(["m_a", "m_b"])
        if rnd.random() < 0.5 or etype in WALLET_ONLY:
            e["agent_id"] = rnd.choice(["a_a", "a_b"])
        if rnd.random() < 0.6:
            e["bank_id"] = rnd.choice(["b_a", "b_b"])
        events.append(e)
    # Float updates: counted nowhere in the figures, listed in platform/agent/region only.
    for i in range(10):
        events.append({"event_id": f"f-{i}", "type": "agent.float_updated", "source": "wallet",
                       "occurred_at": (NOW - timedelta(hours=i)).isoformat(), "country": "SN",
                       "currency": "XOF", "balance": "1000", "agent_id": "a_a",
                       "merchant_id": "m_a"})  # fmt: skip
    rnd.shuffle(events)
    # Late: the days-old events arrive in the last batch.
    late = [e for e in events if datetime.fromisoformat(e["occurred_at"]) < NOW - timedelta(days=2)]
    rest = [e for e in events if e not in late]
    batches = [rest[i::4] for i in range(4)] + [late]
    counted = {}
    for b in batches:
        for e in b:
            counted.setdefault(e["event_id"], e)
    # Redeliveries: in the same batch, in later batches, and one with another amount.
    batches[1] += batches[1][:5]
    batches[3] += batches[0][:20]
    changed = dict(next(e for e in batches[0] if "amount" in e))
    changed["amount"] = "1"
    batches[4].append(changed)
    return batches, counted


def _in_scope(e, scope):
    if scope.kind == "platform":
        return True
    if scope.kind == "region":
        return e["country"] == scope.id
    if e["type"] == "agent.float_updated" and scope.kind != "agent":
        return False
    return e.get(f"{scope.kind}_id") == scope.id


def _independent(counted, scope, frm, to):
    """Counts and per-currency money figures straight from the generated events."""
    counts, amounts = Counter(), defaultdict(lambda: defaultdict(Decimal))
    for e in counted.values():
        at = datetime.fromisoformat(e["occurred_at"]).replace(minute=0, second=0)
        if not (frm <= at < to and _in_scope(e, scope)):
            continue
        count, amount, fee, _ = RULES[e["type"]]
        if count:
            counts[count] += 1
        cur = amounts[e["currency"]]
        if amount:
            cur[amount] += Decimal(e["amount"])
        if fee:
            f, c = Decimal(e.get("fee", 0)), Decimal(e.get("cost", 0))
            cur["fees"] += f
            cur["revenue"] += f - c
    return counts, amounts


SCOPES = ["platform", "merchant:m_a", "agent:a_a", "bank:b_a", "region:SN", "merchant:m_b"]


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    batches, counted = _generate()
    with django_db_blocker.unblock():
        _empty()  # rows other (transactional) tests left behind would count too
        total = sum(ingest(b, now=NOW).counted for b in batches)
        assert total == len(counted)
        with connection.cursor() as cur:
            bodies = {s: compute_scope(cur, Scope.parse(s), now=NOW)[0] for s in SCOPES}
    yield counted, bodies
    with django_db_blocker.unblock():
        _empty()


def _empty():
    with connection.cursor() as cur:
        for table in ("dashboard_transaction", "dashboard_hourly_aggregate",
                      "dashboard_seen_event", "dashboard_dirty_change",
                      "dashboard_bank_merchant_hourly", "dashboard_scope_hourly",
                      "dashboard_scope_daily", "dashboard_snapshot",
                      # the agents its float and cash events created (committed too)
                      "agents_agentfloathour", "agents_agentsaleshour",
                      "agents_agent"):  # fmt: skip
            cur.execute(f"DELETE FROM {table}")


def _drill(scope, frm, to, figure, **cuts):
    return drilldown_sum(TxQuery(scope=scope, frm=frm, to=to, figure=figure, **cuts))


@pytest.mark.parametrize("scope_text", SCOPES)
def test_every_overview_figure_is_the_sum_of_its_drilldown(generated, scope_text):
    counted, bodies = generated
    scope = Scope.parse(scope_text)
    for period, (raw, _to) in bodies[scope_text].items():
        body = orjson.loads(raw)
        frm, to = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
        counts, amounts = _independent(counted, scope, frm, to)
        for name in COUNT_FIGURES:
            got = _drill(scope, frm, to, name)["count"]
            assert got == body["counts"][name] == counts[name], (period, name)
        for name in MONEY_FIGURES:
            got = _drill(scope, frm, to, name)["amounts"]
            for currency, figures in body["amounts"].items():
                expected = figures[name]
                assert got.get(currency, "0") == expected, (period, name, currency)
                assert expected == money(amounts[currency][name]), (period, name, currency)
            assert set(got) <= set(body["amounts"]), (period, name)
        for name in ("conversion_rate", "success_rate"):
            parts = _drill(scope, frm, to, name)
            value = ratio(parts["numerator"]["count"], parts["denominator"]["count"])
            assert value == body["rates"][name], (period, name)
        assert counts, "generated data must reach every scope"


def _bucket_value(metric, result, currency):
    kind = METRICS[metric].kind
    if kind == "count":
        return result["count"]
    if kind == "money":
        return Decimal(result["amounts"].get(currency, "0"))
    num, den = result["numerator"], result["denominator"]
    if kind == "ratio":
        return ratio(num["count"], den["count"])
    return ratio(
        10000 * Decimal(num["amounts"].get(currency, "0")),
        Decimal(den["amounts"].get(currency, "0")),
        places=2,
    )


CUTS = [
    ("platform", "hour", {"currency": "XOF"}),
    (
        "platform",
        "hour",
        {
            "currency": "GHS",
            "source": "connect",
            "country": "SN",
            "region": "Dakar",
            "city": "Mbour",
        },
    ),  # fmt: skip
    ("platform", "day", {"currency": "XOF"}),
    ("merchant:m_a", "hour", {"currency": "XOF", "source": "wallet"}),
    ("agent:a_a", "hour", {"currency": "XOF"}),
    ("region:SN", "hour", {"currency": "GHS", "city": "Dakar"}),
]


@pytest.mark.parametrize("scope_text,granularity,cuts", CUTS)
def test_every_time_series_bucket_is_the_sum_of_its_drilldown(
    generated, scope_text, granularity, cuts
):
    scope = Scope.parse(scope_text)
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    to = NOW.replace(minute=0) + timedelta(hours=1)
    if granularity == "day":
        to = to.replace(hour=0) + step
    frm = to - (32 if granularity == "hour" else 30) * step
    geo = {k: cuts[k] for k in ("country", "region", "city") if k in cuts}
    nonzero = 0
    for metric in METRICS:
        q = SeriesQuery(metric=metric, scope=scope, granularity=granularity, frm=frm, to=to,
                        currency=cuts["currency"], source=cuts.get("source"), geo=geo)  # fmt: skip
        for t_text, value in series_points(q):
            t = datetime.fromisoformat(t_text.replace("Z", "+00:00"))
            drilled = _drill(scope, t, t + step, metric, **cuts)
            expected = Decimal(value) if METRICS[metric].kind == "money" else value
            assert _bucket_value(metric, drilled, cuts["currency"]) == expected, (metric, t_text)
            nonzero += bool(value)
    assert nonzero > 50, "the generated data must fill buckets"


def test_the_drilldown_endpoint_answers_the_figure_and_lists_its_events(
    generated, client_for, ops_admin
):
    _, bodies = generated
    body = orjson.loads(bodies["merchant:m_a"]["24h"][0])
    client = client_for(ops_admin)
    params = {"scope": "merchant:m_a", "from": body["from"], "to": body["to"]}
    r = client.get("/api/dashboard/drilldown", {**params, "figure": "gmv"})
    assert r.status_code == 200
    assert r.json()["amounts"]["XOF"] == body["amounts"]["XOF"]["gmv"]
    assert r.json()["types"] == list(drilldown.figure_types("gmv"))
    assert r.json()["field"] == "amount"
    listed, cursor = Decimal(0), None
    while True:
        paging = {"cursor": cursor} if cursor else {}
        page = client.get(
            "/api/dashboard/transactions",
            {**params, "figure": "gmv", "currency": "XOF", "limit": 100, **paging},
        )
        listed += sum(Decimal(row["amount"]) for row in page.json()["results"])
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert money(listed) == body["amounts"]["XOF"]["gmv"]
    assert client.get("/api/dashboard/drilldown", params).status_code == 400
