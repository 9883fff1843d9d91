"""Agent map API: GeoJSON shapes, parameter validation (400s) and scope rules."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.choices import Role
from agents.services import (
    FloatColumns,
    SalesColumns,
    agent_floats_apply,
    agent_map_grid_rebuild,
    agent_sales_apply,
)
from tests.agents.helpers import ABIDJAN, DAKAR, T0, THIES, offset_north, place
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NEARBY = "/api/dashboard/agents/nearby"
CLUSTERS = "/api/dashboard/agents/clusters"


@pytest.fixture
def agents():
    place("a_1", *offset_north(*DAKAR, 500), balance="1500.50")
    place("a_2", *THIES)
    place("a_ci", *ABIDJAN, country="CI")
    agent_map_grid_rebuild()


@pytest.fixture
def staff(ops_admin, client_for):
    return client_for(ops_admin)


def test_nearby_returns_geojson_with_distance_in_metres(staff, agents):
    resp = staff.get(NEARBY, {"lat": DAKAR[0], "lon": DAKAR[1], "radius_m": 2000})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 1
    [feature] = body["features"]
    assert feature["id"] == "a_1"
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["distance_m"] == pytest.approx(500, abs=0.5)
    assert feature["properties"]["float_balance"] == "1500.5"
    assert feature["properties"]["low_float"] is True
    seen = datetime.fromisoformat(feature["properties"]["last_seen_at"].replace("Z", "+00:00"))
    assert seen == T0


def test_nearest_k_without_radius(staff, agents):
    resp = staff.get(NEARBY, {"lat": DAKAR[0], "lon": DAKAR[1], "limit": 2})
    assert [f["id"] for f in resp.json()["features"]] == ["a_1", "a_2"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lon": "-17.4"}, "lat"),
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "-90.5", "lon": "0"}, "lat"),
        ({"lat": "14", "lon": "180.01"}, "lon"),
        ({"lat": "abc", "lon": "0"}, "lat"),
        ({"lat": "nan", "lon": "0"}, "lat"),
        ({"lat": "14", "lon": "inf"}, "lon"),
        ({"lat": "14", "lon": "-17", "radius_m": "50001"}, "radius_m"),
        ({"lat": "14", "lon": "-17", "radius_m": "0"}, "radius_m"),
        ({"lat": "14", "lon": "-17", "limit": "501"}, "limit"),
        ({"lat": "14", "lon": "-17", "limit": "0"}, "limit"),
        ({"lat": "14", "lon": "-17", "status": "sleeping"}, "status"),
        ({"lat": "14", "lon": "-17", "low_float": "maybe"}, "low_float"),
    ],
)
def test_nearby_bad_parameters_are_400_with_field_errors(staff, params, field):
    resp = staff.get(NEARBY, params)
    assert resp.status_code == 400, resp.content
    assert field in resp.json()["errors"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"zoom": "5"}, "bbox"),
        ({"bbox": "1,2,3", "zoom": "5"}, "bbox"),
        ({"bbox": "a,b,c,d", "zoom": "5"}, "bbox"),
        ({"bbox": "-17,14,-18,15", "zoom": "5"}, "bbox"),
        ({"bbox": "-17,15,-16,14", "zoom": "5"}, "bbox"),
        ({"bbox": "-190,14,-16,15", "zoom": "5"}, "bbox"),
        ({"bbox": "-17,-91,-16,15", "zoom": "5"}, "bbox"),
        ({"bbox": "-17,14,nan,15", "zoom": "5"}, "bbox"),
        ({"bbox": "-17,14,-16,15"}, "zoom"),
        ({"bbox": "-17,14,-16,15", "zoom": "23"}, "zoom"),
        ({"bbox": "-17,14,-16,15", "zoom": "-1"}, "zoom"),
        ({"bbox": "-17,14,-16,15", "zoom": "x"}, "zoom"),
    ],
)
def test_clusters_bad_parameters_are_400_with_field_errors(staff, params, field):
    resp = staff.get(CLUSTERS, params)
    assert resp.status_code == 400, resp.content
    assert field in resp.json()["errors"]


def test_clusters_at_country_zoom_and_individual_agents_zoomed_in(staff, agents):
    resp = staff.get(CLUSTERS, {"bbox": "-20,3,5,20", "zoom": "4"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["mode"] == "clusters"
    assert body["count"] == 3
    assert body["as_of"]
    props = [f["properties"] for f in body["features"]]
    assert all(p["kind"] == "cluster" for p in props)
    total = sum(Decimal(p["float"]["XOF"]) for p in props)
    assert total == Decimal("1500.50") + Decimal("500000") * 2

    resp = staff.get(CLUSTERS, {"bbox": "-17.5,14.7,-17.4,14.8", "zoom": "16"})
    body = resp.json()
    assert body["mode"] == "agents"
    assert [f["id"] for f in body["features"]] == ["a_1"]


def test_detail_has_float_history_and_sales(staff):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    place("a_1", *DAKAR, balance="100", at=hour - timedelta(hours=2))
    agent_floats_apply(
        FloatColumns.of(
            [
                {
                    "agent_id": "a_1",
                    "balance": Decimal("250"),
                    "currency": "XOF",
                    "occurred_at": hour + timedelta(minutes=1),
                    "country": "SN",
                    "region": "",
                    "city": "",
                    "lat": None,
                    "lon": None,
                    "event_id": "e9",
                }
            ]
        )
    )
    agent_sales_apply(
        SalesColumns.of(
            [
                {
                    "agent_id": "a_1",
                    "bucket": hour,
                    "currency": "XOF",
                    "cash_in_amount": Decimal("1000"),
                    "cash_out_amount": Decimal("500.25"),
                    "last_seen": hour + timedelta(minutes=2),
                    "country": "SN",
                }
            ]
        )
    )
    resp = staff.get("/api/dashboard/agents/a_1")
    assert resp.status_code == 200, resp.content
    props = resp.json()["properties"]
    assert props["float_balance"] == "250"
    assert props["sales_24h"] == "1500.25"
    assert [h["balance"] for h in props["float_history"]] == ["100", "250"]
    assert props["sales"] == [
        {
            "hour": hour.isoformat().replace("+00:00", "Z"),
            "currency": "XOF",
            "cash_in_amount": "1000",
            "cash_out_amount": "500.25",
            "sales": "1500.25",
        }
    ]
    assert staff.get("/api/dashboard/agents/nope").status_code == 404
    assert staff.get("/api/dashboard/agents/a_1", {"hours": "0"}).status_code == 400


# ---------------------------------------------------------------- scope rules


def test_agent_user_sees_only_itself(agents, client_for):
    me = client_for(make_user("agent_a1", Role.AGENT, "agent:a_1"))
    resp = me.get(NEARBY, {"lat": DAKAR[0], "lon": DAKAR[1], "radius_m": 50000})
    assert [f["id"] for f in resp.json()["features"]] == ["a_1"]
    resp = me.get(CLUSTERS, {"bbox": "-20,3,5,20", "zoom": "4"})
    assert [f["id"] for f in resp.json()["features"]] == ["a_1"]
    assert me.get("/api/dashboard/agents/a_1").status_code == 200
    assert me.get("/api/dashboard/agents/a_2").status_code == 404


def test_region_user_sees_only_its_country(agents, region_sn, client_for):
    client = client_for(region_sn)
    resp = client.get(NEARBY, {"lat": ABIDJAN[0], "lon": ABIDJAN[1], "limit": 10})
    assert {f["id"] for f in resp.json()["features"]} == {"a_1", "a_2"}
    resp = client.get(CLUSTERS, {"bbox": "-20,3,5,20", "zoom": "4"})
    assert resp.json()["count"] == 2
    assert client.get("/api/dashboard/agents/a_2").status_code == 200
    assert client.get("/api/dashboard/agents/a_ci").status_code == 404


@pytest.mark.parametrize("who", ["merchant", "bank", "outsider"])
def test_merchant_bank_and_roleless_users_get_403(
    agents, client_for, merchant_admin_m1, outsider, who
):
    if who == "merchant":
        user = merchant_admin_m1
    elif who == "bank":
        user = make_user("bank_b1", Role.FINANCE_OPS, "bank:b_1")
    else:
        user = outsider
    client = client_for(user)
    for url, params in [
        (NEARBY, {"lat": "14", "lon": "-17"}),
        (CLUSTERS, {"bbox": "-20,3,5,20", "zoom": "4"}),
        ("/api/dashboard/agents/a_1", {}),
    ]:
        resp = client.get(url, params)
        assert resp.status_code == 403, (url, resp.content)


def test_anonymous_is_401(api_client):
    assert api_client.get(NEARBY, {"lat": "14", "lon": "-17"}).status_code == 401
