"""agents.selectors: nearby (radius and nearest-k), clusters from the grid, visibility."""

import random
from decimal import Decimal

import pytest

from agents.choices import AgentStatus
from agents.models import Agent, AgentGridCell
from agents.selectors import (
    GRID_MAX_LEVEL,
    AgentVisibility,
    BBox,
    agent_clusters,
    agents_nearby,
    grid_level_for,
)
from agents.services import SalesColumns, agent_map_grid_rebuild, agent_set_status
from tests.agents.helpers import ABIDJAN, DAKAR, THIES, haversine_m, offset_north, place

pytestmark = pytest.mark.django_db


def test_dakar_to_thies_is_about_60_km_and_matches_haversine():
    place("a_thies", *THIES)
    [agent] = agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=None, limit=1)
    assert agent.agent_id == "a_thies"
    assert 58_000 < agent.distance_m < 61_000
    assert agent.distance_m == pytest.approx(haversine_m(*DAKAR, *THIES), abs=0.5)
    assert agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=50_000, limit=10) == []


def test_radius_boundary_includes_just_inside_and_excludes_just_outside():
    place("a_in", *offset_north(*DAKAR, 1999.0))
    place("a_out", *offset_north(*DAKAR, 2001.0))
    found = agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=2000, limit=10)
    assert [a.agent_id for a in found] == ["a_in"]
    assert found[0].distance_m == pytest.approx(1999.0, abs=0.5)


def test_nearby_matches_an_independent_haversine_computation():
    rng = random.Random(3)
    points = {}
    for i in range(300):
        lat, lon = DAKAR[0] + rng.uniform(-0.15, 0.15), DAKAR[1] + rng.uniform(-0.15, 0.15)
        points[f"a_{i:03d}"] = (lat, lon)
        place(f"a_{i:03d}", lat, lon)
    for radius in (2_000, 10_000):
        found = agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=radius, limit=500)
        expected = sorted(
            (haversine_m(*DAKAR, *p), aid)
            for aid, p in points.items()
            if haversine_m(*DAKAR, *p) <= radius
        )
        assert [a.agent_id for a in found] == [aid for _, aid in expected]
        assert [a.distance_m for a in found] == pytest.approx([d for d, _ in expected], abs=0.01)
    nearest = agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=None, limit=10)
    expected = sorted((haversine_m(*DAKAR, *p), aid) for aid, p in points.items())[:10]
    assert [a.agent_id for a in nearest] == [aid for _, aid in expected]


def test_nearby_filters_status_low_float_and_visibility():
    place("a_low", *offset_north(*DAKAR, 100), balance="5")
    place("a_ok", *offset_north(*DAKAR, 200), balance="900000")
    place("a_ci", *offset_north(*DAKAR, 300), country="CI")
    Agent.objects.update(low_float_threshold=Decimal("1000"))
    agent_set_status(agent_id="a_ok", status=AgentStatus.FROZEN)

    def ids(**filters):
        return [
            a.agent_id
            for a in agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=5000, filters=filters)
        ]

    assert ids() == ["a_low", "a_ok", "a_ci"]
    assert ids(low_float=True) == ["a_low"]
    assert ids(status=AgentStatus.FROZEN) == ["a_ok"]
    assert ids(country="SN") == ["a_low", "a_ok"]
    assert ids(agent_id="a_ci") == ["a_ci"]


def test_agents_without_position_are_not_on_the_map():
    from agents.services import agent_sales_apply
    from tests.agents.helpers import T0

    agent_sales_apply(
        SalesColumns.of(
            [
                {
                    "agent_id": "a_nowhere",
                    "bucket": T0,
                    "currency": "XOF",
                    "cash_in_amount": Decimal(1),
                    "cash_out_amount": Decimal(0),
                    "last_seen": T0,
                    "country": "SN",
                }
            ]
        )
    )
    assert agents_nearby(lat=DAKAR[0], lon=DAKAR[1], limit=5) == []
    agent_map_grid_rebuild()
    assert not AgentGridCell.objects.exists()


def _seed_cities(n=400):
    rng = random.Random(11)
    agents = []
    for i in range(n):
        city, country = (DAKAR, "SN") if i % 3 else (ABIDJAN, "CI")
        lat, lon = city[0] + rng.gauss(0, 0.2), city[1] + rng.gauss(0, 0.2)
        balance = Decimal(rng.randrange(0, 400_000))
        place(f"a_{i:03d}", lat, lon, balance=balance, country=country)
        agents.append((f"a_{i:03d}", lat, lon, balance, country))
    Agent.objects.filter(agent_id__endswith="7").update(sales_24h=Decimal("1234.5"))
    return agents


@pytest.mark.parametrize("zoom", [2, 5, 8, 11, 14])
def test_cluster_totals_equal_the_sum_over_their_agents(zoom):
    _seed_cities()
    agent_map_grid_rebuild()
    bbox = BBox(-25.0, -5.0, 10.0, 25.0) if zoom < 8 else BBox(-17.8, 14.5, -17.2, 14.9)
    result = agent_clusters(bbox=bbox, zoom=zoom, visibility=AgentVisibility())
    assert result["kind"] == "clusters"
    in_view = [
        a
        for a in Agent.objects.all()
        if bbox.min_lon <= a.location.x <= bbox.max_lon
        and bbox.min_lat <= a.location.y <= bbox.max_lat
    ]
    level, size = result["level"], result["cell_deg"]
    by_cell = {}
    for a in Agent.objects.all():
        key = (int((a.location.x + 180) // size), int((a.location.y + 90) // size))
        by_cell.setdefault(key, []).append(a)
    assert result["clusters"], "expected clusters in view"
    for cluster in result["clusters"]:
        members = by_cell[tuple(cluster["cell"])]
        assert cluster["count"] == len(members)
        assert cluster["float"] == {"XOF": sum(a.float_balance for a in members)}
        assert cluster["sales_24h"]["XOF"] == sum(a.sales_24h for a in members)
        assert cluster["low_float_count"] == sum(a.is_low_float for a in members)
        assert cluster["lon"] == pytest.approx(sum(a.location.x for a in members) / len(members))
    # Every agent in view is in exactly one returned cluster.
    assert sum(c["count"] for c in result["clusters"]) >= len(in_view)
    assert level == grid_level_for(bbox, zoom)


def test_region_user_clusters_count_only_its_country():
    _seed_cities(90)
    agent_map_grid_rebuild()
    result = agent_clusters(
        bbox=BBox(-25.0, -5.0, 10.0, 25.0), zoom=3, visibility=AgentVisibility(country="CI")
    )
    assert sum(c["count"] for c in result["clusters"]) == Agent.objects.filter(country="CI").count()


def test_zoomed_in_far_returns_individual_agents_and_agent_user_only_itself():
    _seed_cities(60)
    bbox = BBox(-17.9, 14.3, -17.0, 15.1)
    result = agent_clusters(bbox=bbox, zoom=16, visibility=AgentVisibility())
    expected = {
        a.agent_id
        for a in Agent.objects.all()
        if bbox.min_lon <= a.location.x <= bbox.max_lon
        and bbox.min_lat <= a.location.y <= bbox.max_lat
    }
    assert result["kind"] == "agents"
    assert {a.agent_id for a in result["agents"]} == expected
    mine = agent_clusters(bbox=bbox, zoom=3, visibility=AgentVisibility(agent_id="a_001"))
    assert [a.agent_id for a in mine["agents"]] == (["a_001"] if "a_001" in expected else [])


def test_a_huge_bbox_at_high_zoom_is_answered_at_a_coarser_bounded_level():
    bbox = BBox(-180, -90, 180, 90)
    level = grid_level_for(bbox, GRID_MAX_LEVEL)
    assert 360 / (360 / (1 << (level + 2))) <= 48


def test_nearby_planner_settings_do_not_leak_into_the_callers_transaction():
    from django.db import connection, transaction

    place("a_1", *DAKAR)
    with transaction.atomic(), connection.cursor() as cursor:
        agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=1000, limit=5)
        cursor.execute("SELECT current_setting('enable_bitmapscan'), current_setting('jit')")
        inside = cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan')")
        after = cursor.fetchone()[0]
    assert inside[0] == "on" and after == "on"


@pytest.mark.django_db(transaction=True)
def test_nearby_planner_settings_do_not_leak_in_autocommit():
    from django.db import connection

    place("a_1", *DAKAR)
    assert connection.get_autocommit()
    assert [a.agent_id for a in agents_nearby(lat=DAKAR[0], lon=DAKAR[1], radius_m=10)] == ["a_1"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan'), current_setting('jit')")
        assert cursor.fetchone()[0] == "on"


def test_spatial_indexes_are_the_composite_and_the_partial_frozen_one():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'agents_agent' "
            "AND indexdef ILIKE '%%gist%%' ORDER BY indexname"
        )
        defs = dict(cursor.fetchall())
    assert set(defs) == {"agents_agent_country_loc_gist", "agents_agent_frozen_loc_pgist"}
    assert "(country, location)" in defs["agents_agent_country_loc_gist"]
    assert "WHERE ((status)::text = 'frozen'::text)" in defs["agents_agent_frozen_loc_pgist"]


def test_region_users_nearest_query_has_the_country_as_index_condition():
    from agents import sql
    from agents.selectors import where_sql

    for i in range(50):
        place(f"a_sn{i}", *offset_north(*DAKAR, 100 * i))
        place(f"a_ci{i}", *offset_north(*ABIDJAN, 100 * i), country="CI")
    params = {"lat": DAKAR[0], "lon": DAKAR[1], "limit": 10}
    query = sql.NEAREST.format(filters=where_sql({"country": "CI"}, params))
    from django.db import connection

    with connection.cursor() as cursor:  # a few rows: keep the planner off seq scans
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(r["QUERY PLAN"] for r in sql.fetch_knn("EXPLAIN " + query, params))
    assert "agents_agent_country_loc_gist" in plan
    assert "Index Cond: (((country)::text = 'CI'::text)" in plan, plan
