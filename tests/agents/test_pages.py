"""The agent map and float treasury pages: who may open them, and figures that equal an
independent computation from the agents' rows (no product selector in the oracle)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.web.nav import pages_for
from agents.models import Agent, AgentFloatHour
from agents.selectors import AgentVisibility, agent_float_history
from agents.services import FloatColumns, agent_floats_apply, agent_map_grid_rebuild
from tests.agents.helpers import ABIDJAN, DAKAR, T0, THIES, place
from tests.factories import make_user

pytestmark = pytest.mark.django_db

CONAKRY = (9.6412, -13.5784)
LAGOS = (6.5244, 3.3792)
WATCH = Decimal("1.25")  # "near" the threshold, as the page says


@pytest.fixture
def bank_user(db):
    return make_user("bank_b1", Role.FINANCE_OPS, "bank:b_1")


@pytest.fixture
def world(db):
    """Agents in four countries and three currencies, some at or under their threshold."""
    rows = [
        # agent, (lat, lon), balance, country, currency, threshold
        ("a_1", DAKAR, "500000", "SN", "XOF", "100000"),
        ("a_sn2", THIES, "90000", "SN", "XOF", "100000"),  # below
        ("a_sn3", DAKAR, "120000", "SN", "XOF", "100000"),  # near (< 125 %)
        ("a_sn4", THIES, "0", "SN", "XOF", "100000"),  # empty
        ("a_ci1", ABIDJAN, "2500000", "CI", "XOF", "100000"),
        ("a_ci2", ABIDJAN, "50000", "CI", "XOF", "100000"),  # below
        ("a_gn1", CONAKRY, "75000000", "GN", "GNF", "100000000"),  # below
        ("a_ng1", LAGOS, "1234.5678", "NG", "NGN", "1000"),
        ("a_ng2", LAGOS, "999.99", "NG", "NGN", "1000"),  # below, not a whole amount
    ]
    for agent_id, (lat, lon), balance, country, currency, _threshold in rows:
        place(agent_id, lat, lon, balance, country=country, currency=currency)
    for agent_id, *_rest, threshold in rows:
        Agent.objects.filter(agent_id=agent_id).update(low_float_threshold=Decimal(threshold))
    agent_map_grid_rebuild()
    return rows


def _page(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(name), params)


# ---------------------------------------------------------------- oracle (plain Python)


def _expected_by_country(agents):
    out = defaultdict(lambda: {"agents": 0, "float": Decimal(0), "low": 0, "near": 0})
    for a in agents:
        row = out[(a.country, a.currency)]
        row["agents"] += 1
        row["float"] += a.float_balance
        row["low"] += a.float_balance < a.low_float_threshold
        row["near"] += a.float_balance < a.low_float_threshold * WATCH
    return dict(out)


def _expected_low(agents):
    low = [
        a
        for a in agents
        if a.low_float_threshold > 0 and a.float_balance < a.low_float_threshold * WATCH
    ]
    return [
        a.agent_id
        for a in sorted(low, key=lambda a: (a.float_balance / a.low_float_threshold, a.agent_id))
    ]


def _shown_by_country(response):
    return {
        (row["country"], row["currency"]): {
            "agents": row["agents"],
            "float": row["float_total"],
            "low": row["low_float"],
            "near": row["near_low"],
        }
        for row in response.context["by_country"]
    }


# ---------------------------------------------------------------- who may open the pages


@pytest.mark.parametrize(
    ("fixture", "allowed"),
    [
        ("ops_admin", True),
        ("finance_ops", True),
        ("region_sn", True),
        ("agent_user", True),
        ("merchant_admin_m1", False),
        ("bank_user", False),
        ("outsider", False),
    ],
)
def test_navigation_and_pages_follow_agent_visibility(client, request, world, fixture, allowed):
    user = request.getfixturevalue(fixture)
    keys = {p.key for p in pages_for(user)}
    assert ({"map", "float"} <= keys) is allowed
    assert not allowed or not ({"map", "float"} - keys)
    for name in ("agents-map", "agents-float"):
        response = _page(client, user, name)
        assert response.status_code == (200 if allowed else 403), name
        if not allowed:
            assert b"a_1" not in response.content and b"a_ci1" not in response.content


def test_anonymous_users_are_sent_to_the_sign_in_page(client):
    for name in ("agents-map", "agents-float"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/login?next=")


# ---------------------------------------------------------------- float treasury figures


def test_staff_float_page_equals_an_independent_computation(client, ops_admin, world):
    response = _page(client, ops_admin, "agents-float")
    assert response.status_code == 200
    agents = list(Agent.objects.all())
    assert _shown_by_country(response) == _expected_by_country(agents)
    totals = {c["currency"]: c["total"] for c in response.context["currencies"]}
    assert totals == {
        "XOF": Decimal("3260000"),
        "GNF": Decimal("75000000"),
        "NGN": Decimal("2234.5578"),
    }
    # XOF leads (most agents), then by agents.
    assert [c["currency"] for c in response.context["currencies"]] == ["XOF", "NGN", "GNF"]
    shown_low = [r["agent"].agent_id for r in response.context["low_rows"]]
    assert shown_low == _expected_low(agents)
    assert response.context["low_count"] == len(shown_low) == 7  # a_ng1: 123 %
    assert response.context["below_count"] == 5
    # Exact decimal strings for the browser, never a binary float.
    html = response.content.decode()
    assert 'data-money="2234.5578" data-currency="NGN"' in html
    assert 'data-money="3260000" data-currency="XOF"' in html
    assert 'data-money="999.99" data-currency="NGN"' in html


def test_region_user_sees_only_its_country(client, region_sn, world):
    response = _page(client, region_sn, "agents-float")
    assert response.status_code == 200
    sn = list(Agent.objects.filter(country="SN"))
    assert _shown_by_country(response) == _expected_by_country(sn)
    assert [r["agent"].agent_id for r in response.context["low_rows"]] == _expected_low(sn)
    assert {s["country"] for s in response.context["chart_data"]["history"]["series"]} == {"SN"}
    assert response.context["chart_data"]["bars"]["kind"] == "city"
    html = response.content.decode()
    for other in ("a_ci1", "a_ci2", "a_gn1", "a_ng1", "GNF", "NGN"):
        assert other not in html
    # Asking for another country is refused, not answered with data.
    refused = _page(client, region_sn, "agents-float", scope="region:CI")
    assert refused.status_code == 403 and b"a_ci" not in refused.content


def test_agent_user_sees_only_itself(client, agent_user, world):
    response = _page(client, agent_user, "agents-float")
    assert response.status_code == 200
    me = Agent.objects.get(agent_id="a_1")
    assert _shown_by_country(response) == _expected_by_country([me])
    assert response.context["own"]["float"] == "500000"
    assert response.context["own"]["share"] == "5"
    history = response.context["chart_data"]["history"]["series"]
    assert [(s["country"], s["currency"]) for s in history] == [("SN", "XOF")]
    html = response.content.decode()
    for other in ("a_sn2", "a_sn3", "a_ci1", "a_gn1", "a_ng1"):
        assert other not in html


def test_staff_narrow_to_a_country_or_an_agent(client, ops_admin, world):
    ci = _page(client, ops_admin, "agents-float", scope="region:CI")
    assert ci.status_code == 200
    assert _shown_by_country(ci) == _expected_by_country(Agent.objects.filter(country="CI"))
    one = _page(client, ops_admin, "agents-float", scope="agent:a_ng2")
    assert one.status_code == 200
    assert one.context["own"]["float"] == "999.99"
    assert one.context["own"]["agent"].agent_id == "a_ng2"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"scope": "merchant:m_1"}, 400, b"Agent data exists for the platform"),
        ({"scope": "nonsense"}, 400, b"Unknown scope"),
        ({"window": "7y"}, 400, b"Unknown history window"),
        ({"page": "x"}, 400, b"positive whole number"),
        ({"page": "0"}, 400, b"positive whole number"),
    ],
)
def test_bad_input_is_a_clear_400(client, ops_admin, world, params, status, message):
    response = _page(client, ops_admin, "agents-float", **params)
    assert response.status_code == status
    assert message in response.content


def test_low_float_list_is_paginated_by_fifty(client, ops_admin):
    for i in range(53):
        place(f"a_low{i:02d}", DAKAR[0], DAKAR[1] + i * 0.001, str(1000 + i))
    response = _page(client, ops_admin, "agents-float", page="2")
    assert response.status_code == 200
    assert response.context["low_count"] == 53
    assert [r["agent"].agent_id for r in response.context["low_rows"]] == [
        "a_low50",
        "a_low51",
        "a_low52",
    ]
    # A page past the end shows the last one (the list moves while one reads it).
    assert len(_page(client, ops_admin, "agents-float", page="9").context["low_rows"]) == 3


# ---------------------------------------------------------------- float history


def _float(agent_id, balance, at, *, currency="XOF", country="SN"):
    return {
        "agent_id": agent_id,
        "balance": Decimal(balance),
        "currency": currency,
        "occurred_at": at,
        "country": country,
        "region": "",
        "city": "",
        "lat": DAKAR[0],
        "lon": DAKAR[1],
        "event_id": f"h-{agent_id}-{at:%Y%m%d%H%M}",
    }


def _expected_history(start, step, buckets, visible):
    """End-of-bucket float per (country, currency): each agent's last history row at or
    before the bucket's end; agents whose float has not changed since before the window
    at their current balance."""
    rows = defaultdict(list)
    for h in AgentFloatHour.objects.order_by("hour"):
        rows[h.agent_id].append(h)
    out = defaultdict(Decimal)
    for agent in Agent.objects.exclude(float_updated_at=None):
        if not visible(agent):
            continue
        for i in range(buckets):
            bucket = start + step * i
            if agent.float_updated_at < start:
                out[(bucket, agent.country, agent.currency)] += agent.float_balance
                continue
            before = [h for h in rows[agent.agent_id] if h.hour < bucket + step]
            if before:
                out[(bucket, agent.country, before[-1].currency)] += before[-1].balance
            else:
                out[(bucket, agent.country, agent.currency)] += 0
    return dict(out)


def _history_world():
    day0 = T0.replace(hour=0)
    updates = [
        # Changed long before the window: flat at its current balance.
        _float("a_old", "700000", day0 - timedelta(days=20)),
        # Started before the window, changes inside it, twice in one day.
        _float("a_mid", "100000", day0 - timedelta(days=3, hours=2)),
        _float("a_mid", "150000", day0 + timedelta(days=1, hours=3)),
        _float("a_mid", "90000", day0 + timedelta(days=1, hours=9)),
        _float("a_mid", "120000.50", day0 + timedelta(days=4, hours=1)),
        # Appears mid-window.
        _float("a_new", "40000", day0 + timedelta(days=2, hours=5)),
        # Moves from XOF to GNF inside the window.
        _float("a_cur", "300000", day0 - timedelta(days=1)),
        _float("a_cur", "9000000", day0 + timedelta(days=3, hours=4), currency="GNF"),
        # Another country.
        _float("a_ci", "800000", day0 + timedelta(hours=2), country="CI"),
        _float("a_ci", "810000", day0 + timedelta(hours=2, minutes=30), country="CI"),
    ]
    agent_floats_apply(FloatColumns.of(updates))
    return day0


@pytest.mark.parametrize("unit", ["day", "hour"])
def test_float_history_equals_a_carried_forward_computation(unit):
    day0 = _history_world()
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    buckets = 6 if unit == "day" else 30
    start = day0 if unit == "day" else day0 + timedelta(hours=-2)
    for visibility, visible in (
        (AgentVisibility(), lambda a: True),
        (AgentVisibility(country="SN"), lambda a: a.country == "SN"),
        (AgentVisibility(agent_id="a_mid"), lambda a: a.agent_id == "a_mid"),
    ):
        rows = agent_float_history(visibility, start=start, buckets=buckets, unit=unit)
        got = {(r["bucket"], r["country"], r["currency"]): r["total"] for r in rows if r["total"]}
        expected = _expected_history(start, step, buckets, visible)
        assert got == {k: v for k, v in expected.items() if v}
        assert len({r["bucket"] for r in rows}) == buckets


def test_float_history_ends_at_the_current_totals():
    day0 = _history_world()
    rows = agent_float_history(AgentVisibility(), start=day0, buckets=6, unit="day")
    last = {
        (r["country"], r["currency"]): r["total"]
        for r in rows
        if r["bucket"] == day0 + timedelta(days=5)
    }
    current = defaultdict(Decimal)
    for a in Agent.objects.all():
        current[(a.country, a.currency)] += a.float_balance
    assert {k: v for k, v in last.items() if v} == dict(current)
    assert last[("SN", "XOF")] == Decimal("700000") + Decimal("120000.50") + Decimal("40000")


def test_float_page_history_series_are_exact_strings(client, ops_admin):
    now = datetime.now(UTC)
    agent_floats_apply(
        FloatColumns.of([_float("a_h", "1000.25", now - timedelta(days=2), currency="NGN")])
    )
    agent_floats_apply(
        FloatColumns.of([_float("a_h", "2000.75", now - timedelta(minutes=1), currency="NGN")])
    )
    response = _page(client, ops_admin, "agents-float", window="30d")
    history = response.context["chart_data"]["history"]
    assert len(history["buckets"]) == 30
    [series] = history["series"]
    assert series["values"][-1] == "2000.75"
    assert series["values"][-2] == series["values"][-3] == "1000.25"
    assert set(series["values"][:-3]) == {"0"}


# ---------------------------------------------------------------- map page


def test_map_page_starts_where_the_user_has_agents(client, ops_admin, region_sn, agent_user, world):
    staff = _page(client, ops_admin, "agents-map").context["config"]
    assert staff["center"] is None and staff["bounds"] == [[4.0, -18.0], [17.0, 9.0]]
    assert staff["clustersUrl"] == "/api/dashboard/agents/clusters"
    region = _page(client, region_sn, "agents-map").context["config"]
    (south, west), (north, east) = region["bounds"]
    for lat, lon in (DAKAR, THIES):
        assert south <= lat <= north and west <= lon <= east
    assert east < ABIDJAN[1] or south > ABIDJAN[0]  # Abidjan is not in a Senegal view
    agent = _page(client, agent_user, "agents-map")
    assert agent.context["config"]["center"]["lat"] == pytest.approx(DAKAR[0])
    assert agent.context["config"]["agentOnly"] is True
    assert b"a_sn2" not in agent.content


def test_the_map_data_answers_the_signed_in_session(client, region_sn, world):
    client.force_login(region_sn)
    response = client.get("/api/dashboard/agents/clusters", {"bbox": "-20,0,10,20", "zoom": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "clusters" and body["count"] == 4  # the four Senegal agents
    floats = defaultdict(Decimal)
    for feature in body["features"]:
        for cur, amount in feature["properties"]["float"].items():
            floats[cur] += Decimal(amount)
    assert floats == {"XOF": Decimal("710000")}
