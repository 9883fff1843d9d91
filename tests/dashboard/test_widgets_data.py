"""GET /api/dashboard/widgets/{id}/data equals the endpoint each type mirrors."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.scope import Scope
from agents.services import agent_map_grid_rebuild
from dashboard import stream
from dashboard.models import DeadLetter
from dashboard.snapshots.refresh import snapshot_refresh_scope, snapshots_refresh_dirty
from dashboard.widgets import registry
from opsactions import services as ops_services
from tests.agents.helpers import ABIDJAN, DAKAR, THIES, place
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    insert_agg,
    insert_event_rows,
    now_hour,
    refreshed,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]

URL = "/api/dashboard/widgets"


@pytest.fixture
def staff(client_for, ops_admin):
    return client_for(ops_admin)


def _add(client, type_, config, scope=""):
    body = {"type": type_, "title": type_, "config": config}
    if scope:
        body["scope"] = scope
    r = client.post(URL, body, format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _data(client, wid, scope=""):
    r = client.get(f"{URL}/{wid}/data", {"scope": scope} if scope else {})
    assert r.status_code == 200, r.content
    return r.json()


def test_chart_equals_the_time_series_with_the_previous_period(staff):
    base = now_hour()
    for days, gmv in ((1, "100.25"), (3, "40"), (9, "7"), (12, "5")):
        insert_event_rows(base - timedelta(days=days), merchant="m_1", gmv=gmv)
    insert_event_rows(base - timedelta(days=2), merchant="m_1", gmv="9", source="wallet")
    config = {"metric": "gmv", "currency": "XOF", "period": "7d", "granularity": "day",
              "source": "connect", "compare_previous": True}  # fmt: skip
    wid = _add(staff, "chart_line", config, "merchant:m_1")
    data = _data(staff, wid)
    series = staff.get("/api/dashboard/metrics/gmv/timeseries", {
        "scope": "merchant:m_1", "currency": "XOF", "granularity": "day", "source": "connect",
        "from": data["from"], "to": data["to"]}).json()  # fmt: skip
    assert data["points"] == series["points"] and len(series["points"]) == 7
    prev = staff.get("/api/dashboard/metrics/gmv/timeseries", {
        "scope": "merchant:m_1", "currency": "XOF", "granularity": "day", "source": "connect",
        "from": data["previous"]["from"], "to": data["previous"]["to"]}).json()  # fmt: skip
    assert data["previous"]["points"] == prev["points"]
    assert data["previous"]["to"] == data["from"]
    # Independent sums: 100.25 + 40 in the window (not the wallet 9), 7 + 5 before it.
    assert sum(Decimal(p["value"]) for p in data["points"]) == Decimal("140.25")
    assert sum(Decimal(p["value"]) for p in data["previous"]["points"]) == Decimal("12")


def test_bar_chart_hourly_count_cut_by_country(staff):
    base = now_hour()
    insert_agg("platform", "", base - timedelta(hours=3), country="SN", attempts=4)
    insert_agg("platform", "", base - timedelta(hours=3), country="CI", attempts=2)
    config = {"metric": "attempts", "period": "24h", "granularity": "hour", "country": "SN"}
    data = _data(staff, _add(staff, "chart_bar", config))
    series = staff.get(
        "/api/dashboard/metrics/attempts/timeseries",
        {"scope": "platform", "country": "SN", "from": data["from"], "to": data["to"]},
    ).json()
    assert data["points"] == series["points"] and data["previous"] is None
    assert sum(p["value"] for p in data["points"]) == 4


def test_gauge_equals_the_overview_figure_and_band(staff):
    insert_event_rows(now_hour() - timedelta(hours=2), merchant="m_1", success_count=7,
                      failed_count=3, gmv="1000")  # fmt: skip
    refreshed()  # what the scheduler does: a read never computes a snapshot
    config = {"figure": "success_rate", "period": "24h", "min": 0, "max": 1,
              "warning": 0.9, "critical": 0.75}  # fmt: skip
    data = _data(staff, _add(staff, "gauge", config, "merchant:m_1"))
    overview = staff.get("/api/dashboard/overview",
                         {"scope": "merchant:m_1", "period": "24h"}).json()  # fmt: skip
    assert data["value"] == overview["rates"]["success_rate"] == 0.7
    assert data["band"] == "critical"
    money = {"figure": "gmv", "currency": "XOF", "period": "24h", "min": 0, "max": 5000}
    data = _data(staff, _add(staff, "gauge", money, "merchant:m_1"))
    assert data["value"] == overview["amounts"]["XOF"]["gmv"] == "1000"


def test_table_equals_the_overview_top_merchants_and_ranks_agents(staff):
    hour = now_hour() - timedelta(hours=2)
    insert_event_rows(hour, merchant="m_1", gmv="300")
    insert_event_rows(hour, merchant="m_2", gmv="500")
    insert_event_rows(hour, merchant="m_3", gmv="100")
    insert_agg("agent", "a_1", hour, gmv="20")
    insert_agg("agent", "a_2", hour, gmv="70")
    snapshots_refresh_dirty()
    data = _data(staff, _add(staff, "table", {"entity": "merchants", "limit": 2}))
    overview = staff.get("/api/dashboard/overview", {"period": "24h"}).json()
    assert data["rows"] == overview["top_merchants"][:2]
    assert [r["merchant_id"] for r in data["rows"]] == ["m_2", "m_1"]
    agents = _data(staff, _add(staff, "table", {"entity": "agents"}))
    assert [(r["agent_id"], Decimal(r["gmv"])) for r in agents["rows"]] == [
        ("a_2", Decimal(70)), ("a_1", Decimal(20))]  # fmt: skip


def test_list_of_transactions_is_the_newest_feed_entries(staff, merchant_admin_m1, client_for):
    client = stream._reader_client()
    key = stream.feed_key("merchant:m_1")
    client.delete(key)
    for i in range(4):
        client.xadd(key, {"e": json.dumps({"id": f"e{i}", "amount": str(i)})})
    merchant = client_for(merchant_admin_m1)
    data = _data(merchant, _add(merchant, "list", {"source": "transactions", "limit": 3}))
    assert [item["id"] for item in data["items"]] == ["e3", "e2", "e1"]
    latest = [json.loads(b) for _i, b in stream.feed_latest("merchant:m_1", count=3)]
    assert data["items"] == latest[::-1]
    client.delete(key)


def test_list_of_ops_actions_equals_the_ops_action_api(staff, ops_admin, region_sn, client_for):
    for target in ("merchant:m_1", "agent:a_1"):
        ops_services.action_create(actor=ops_admin, action_type="FREEZE_MERCHANT"
                                   if target.startswith("merchant") else "FREEZE_AGENT",
                                   target=target, params={"reason_code": "fraud_suspected"},
                                   reason="test")  # fmt: skip
    data = _data(staff, _add(staff, "list", {"source": "ops_actions", "limit": 5}))
    api = staff.get("/api/dashboard/ops/actions").json()
    rows = api["results"] if isinstance(api, dict) else api
    assert data["provider"] is True and data["total"] == 2
    assert data["items"] == rows[:5]


def test_dead_letters_are_staffs_only(staff, client_for, merchant_admin_m1):
    from django.utils import timezone

    DeadLetter.objects.create(received_at=timezone.now(), payload=b"{}", reason="invalid_json",
                              event_id="bad-1")  # fmt: skip
    data = _data(staff, _add(staff, "list", {"source": "dead_letters"}))
    assert [i["event_id"] for i in data["items"]] == ["bad-1"] and data["total"] == 1
    merchant = client_for(merchant_admin_m1)
    r = merchant.post(URL, {"type": "list", "title": "x", "config": {"source": "dead_letters"}},
                      format="json")  # fmt: skip
    assert r.status_code == 400 and "config.source" in r.json()["errors"]


def test_map_equals_the_clusters_endpoint(staff, client_for, agent_user):
    place("a_1", *DAKAR, balance="1500.50")
    place("a_2", *THIES)
    place("a_ci", *ABIDJAN, country="CI")
    agent_map_grid_rebuild()
    config = {"bbox": [-20, 3, 5, 20], "zoom": 4, "markers": "float"}
    data = _data(staff, _add(staff, "map", config))
    api = staff.get("/api/dashboard/agents/clusters", {"bbox": "-20,3,5,20", "zoom": 4}).json()
    assert data.pop("markers") == "float"
    assert data == api and data["count"] == 3
    region = _data(staff, _add(staff, "map", config, "region:SN"))
    assert region["count"] == 2
    agent = client_for(agent_user)
    own = _data(agent, _add(agent, "map", config))
    assert own["mode"] == "agents" and [f["id"] for f in own["features"]] == ["a_1"]


def test_alert_list_is_empty_until_a_provider_registers_then_its_answer(staff, ops_admin):
    saved = registry.widget_provider("alert_list")
    wid = _add(staff, "alert_list", {"severity": ["critical"], "limit": 3}, "merchant:m_1")
    calls = []

    def provider(*, user, scope, config, now):
        calls.append((user, scope, config))
        return {"items": [{"id": 41, "severity": "critical"}], "total": 1}

    try:
        registry._PROVIDERS.pop("alert_list", None)
        empty = _data(staff, wid)
        assert empty == {"items": [], "total": 0, "provider": False}
        registry.register_widget_provider("alert_list", provider)
        wid2 = _add(staff, "alert_list", {"severity": ["critical"], "limit": 3}, "merchant:m_1")
        data = _data(staff, wid2)
    finally:
        registry._PROVIDERS.pop("alert_list", None)
        if saved is not None:
            registry.register_widget_provider("alert_list", saved)
    assert data == {"items": [{"id": 41, "severity": "critical"}], "total": 1, "provider": True}
    [(user, scope, config)] = calls
    assert user == ops_admin and scope == Scope("merchant", "m_1")
    assert config == {"severity": ["critical"], "category": [], "status": ["open", "acknowledged"],
                      "limit": 3}  # fmt: skip


def test_data_is_cached_until_the_scope_refreshes(staff):
    hour = now_hour() - timedelta(hours=1)
    insert_event_rows(hour, merchant="m_7", attempts=1)
    wid = _add(staff, "chart_bar", {"metric": "attempts", "period": "24h",
                                    "granularity": "hour"}, "merchant:m_7")  # fmt: skip
    first = _data(staff, wid)
    insert_event_rows(hour, merchant="m_7", attempts=5)
    assert _data(staff, wid) == first  # cached
    snapshot_refresh_scope(scope=Scope("merchant", "m_7"))
    again = _data(staff, wid)
    assert sum(p["value"] for p in again["points"]) == 6


def test_a_changed_config_is_not_served_from_the_cache(staff):
    insert_event_rows(now_hour() - timedelta(hours=1), merchant="m_8", attempts=2, refunds_count=1)
    wid = _add(staff, "chart_bar", {"metric": "attempts", "period": "24h",
                                    "granularity": "hour"}, "merchant:m_8")  # fmt: skip
    assert sum(p["value"] for p in _data(staff, wid)["points"]) == 2
    r = staff.patch(f"{URL}/{wid}", {"config": {"metric": "refunds_count", "period": "24h",
                    "granularity": "hour"}}, format="json")  # fmt: skip
    assert sum(p["value"] for p in _data(staff, r.json()["id"])["points"]) == 1


def test_a_region_users_ops_actions_are_its_countrys_as_the_api_shows_them(
    ops_admin, region_sn, client_for
):
    for target in ("region:SN", "region:CI"):
        ops_services.action_create(actor=ops_admin, action_type="PAUSE_PAYOUT", target=target,
                                   params={}, reason="test")  # fmt: skip
    region = client_for(region_sn)
    layout = region.get(URL).json()
    [ops_list] = [w for w in layout if w["config"].get("source") == "ops_actions"]
    data = _data(region, ops_list["id"])
    assert [i["target"] for i in data["items"]] == ["region:SN"] and data["total"] == 1
    api = region.get("/api/dashboard/ops/actions").json()
    rows = api["results"] if isinstance(api, dict) else api
    assert data["items"] == rows
    # The platform's list is not the region user's to read.
    staff_widget = _add(client_for(ops_admin), "list", {"source": "ops_actions"})
    assert region.get(f"{URL}/{staff_widget}/data").status_code == 404
