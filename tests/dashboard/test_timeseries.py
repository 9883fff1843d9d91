"""GET /api/dashboard/metrics/{metric}/timeseries: exact, zero-filled, validated."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.scope import Scope
from dashboard.snapshots.refresh import snapshot_refresh_scope, snapshots_refresh_dirty
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    expected_totals,
    insert_agg,
    insert_event_rows,
    now_hour,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]


def url(metric):
    return f"/api/dashboard/metrics/{metric}/timeseries"


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def staff(client_for, ops_admin):
    return client_for(ops_admin)


def test_hourly_points_are_zero_filled_and_exact(staff):
    base = now_hour() - timedelta(hours=10)
    insert_event_rows(base + timedelta(hours=2), merchant="m_1", gmv="100.5", success_count=2)
    insert_event_rows(base + timedelta(hours=2), merchant="m_1", currency="EUR", gmv="3")
    insert_event_rows(base + timedelta(hours=5), merchant="m_1", gmv="50", success_count=1)
    params = {"scope": "merchant:m_1", "from": iso(base), "to": iso(base + timedelta(hours=8))}
    body = staff.get(url("gmv"), {**params, "currency": "XOF"}).json()
    assert body["metric"] == "gmv" and body["currency"] == "XOF" and body["granularity"] == "hour"
    assert len(body["points"]) == 8
    assert body["points"][0] == {"t": iso(base), "value": "0"}
    assert body["points"][2]["value"] == "100.5"
    assert body["points"][5]["value"] == "50"
    counts = staff.get(url("success_count"), params).json()["points"]
    assert [p["value"] for p in counts] == [0, 0, 2, 0, 0, 1, 0, 0]


def test_rollup_path_stays_exact_while_a_range_is_dirty(staff):
    """Rows ingested after the last refresh are read from the raw aggregates."""
    base = now_hour() - timedelta(days=3)
    insert_event_rows(base, merchant="m_1", gmv="10", attempts=1)
    snapshots_refresh_dirty()  # rollups now hold 10
    insert_event_rows(base, merchant="m_1", gmv="5", attempts=1)  # marked dirty, not rolled up
    insert_event_rows(base + timedelta(days=1), merchant="m_1", gmv="7", attempts=1)
    for granularity in ("hour", "day"):
        body = staff.get(url("gmv"), {
            "scope": "merchant:m_1", "currency": "XOF", "granularity": granularity,
            "from": iso(base - timedelta(days=1)), "to": iso(base + timedelta(days=2)),
        }).json()  # fmt: skip
        total = sum(Decimal(p["value"]) for p in body["points"])
        assert total == 22, granularity
    snapshots_refresh_dirty()
    body = staff.get(url("attempts"), {
        "scope": "platform", "granularity": "day",
        "from": iso(base - timedelta(days=1)), "to": iso(base + timedelta(days=2)),
    }).json()  # fmt: skip
    assert sum(p["value"] for p in body["points"]) == 3


def test_daily_points_equal_the_aggregates(staff):
    start = (now_hour() - timedelta(days=20)).replace(hour=0)
    for d in (0, 3, 3, 19):
        insert_event_rows(start + timedelta(days=d, hours=5), bank="b_1", gmv="1.25",
                          fraud_amount="0.25", attempts=2)  # fmt: skip
    snapshot_refresh_scope(scope=Scope.parse("bank:b_1"))
    params = {"scope": "bank:b_1", "granularity": "day", "currency": "XOF",
              "from": iso(start), "to": iso(start + timedelta(days=20))}  # fmt: skip
    points = staff.get(url("gmv"), params).json()["points"]
    assert len(points) == 20
    assert [p["value"] for p in points if p["value"] != "0"] == ["1.25", "2.5", "1.25"]
    _, amounts = expected_totals("bank", "b_1", start, start + timedelta(days=20))
    assert sum(Decimal(p["value"]) for p in points) == amounts["XOF"]["gmv"]
    bps = staff.get(url("fraud_rate_bps"), params).json()["points"]
    assert bps[3]["value"] == 2000.0 and bps[1]["value"] is None


def test_geography_filters_read_the_raw_aggregates(staff):
    t = now_hour() - timedelta(hours=3)
    insert_agg("platform", "", t, country="SN", city="Dakar", gmv="10")
    insert_agg("platform", "", t, country="SN", city="Thies", gmv="20")
    insert_agg("platform", "", t, country="CI", city="Abidjan", gmv="40")
    common = {"currency": "XOF", "from": iso(t), "to": iso(t + timedelta(hours=1))}
    value = lambda **p: staff.get(url("gmv"), {**common, **p}).json()["points"][0]["value"]  # noqa: E731
    assert value(scope="platform") == "70"
    assert value(scope="platform", country="SN") == "30"
    assert value(scope="platform", country="SN", city="Thies") == "20"
    assert value(scope="region:SN") == "30"
    assert value(scope="region:SN", country="CI") == "0"
    assert value(scope="platform", source="wallet") == "0"


def test_derived_rates(staff):
    t = now_hour() - timedelta(hours=1)
    insert_event_rows(t, merchant="m_1", attempts=4, success_count=3, failed_count=1)
    insert_event_rows(t, merchant="m_1", source="wallet", success_count=5)
    params = {"scope": "merchant:m_1", "from": iso(t), "to": iso(t + timedelta(hours=2))}
    conv = staff.get(url("conversion_rate"), params).json()["points"]
    assert [p["value"] for p in conv] == [0.75, None]
    success = staff.get(url("success_rate"), params).json()["points"]
    assert success[0]["value"] == round(8 / 9, 4)


def test_csv_export(staff):
    t = now_hour() - timedelta(hours=2)
    insert_event_rows(t, merchant="m_1", gmv="12.5")
    response = staff.get(url("gmv"), {"scope": "merchant:m_1", "currency": "XOF",
                                      "from": iso(t), "to": iso(t + timedelta(hours=2)),
                                      "format": "csv"})  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode() == (
        f"t,value\n{iso(t)},12.5\n{iso(t + timedelta(hours=1))},0\n"
    )


@pytest.mark.parametrize(
    ("metric", "params", "field"),
    [
        ("volume", {}, "metric"),
        ("gmv", {}, "currency"),
        ("gmv", {"currency": "xof"}, "currency"),
        ("attempts", {"from": "2026-11-27T10:00:00Z", "to": "2026-11-27T09:00:00Z"}, "from"),
        ("attempts", {"from": "2026-10-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, "to"),
        (
            "attempts",
            {"granularity": "day", "from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            "to",
        ),  # fmt: skip
        ("attempts", {"from": "yesterday"}, "from"),
        ("attempts", {"to": "2026-11-27T10:00:00"}, "to"),
        ("attempts", {"granularity": "minute"}, "granularity"),
        ("attempts", {"source": "bank"}, "source"),
        ("attempts", {"country": "Senegal"}, "country"),
    ],
)
def test_bad_parameters_are_400_with_field_errors(staff, metric, params, field):
    response = staff.get(url(metric), {"scope": "platform", **params})
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"], body
    assert body["code"]


def test_unknown_scope_is_400(staff):
    response = staff.get(url("attempts"), {"scope": "planet:earth"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_scope"


def test_merchant_isolation(client_for, merchant_admin_m1):
    t = now_hour() - timedelta(hours=1)
    insert_event_rows(t, merchant="m_2", attempts=9)
    client = client_for(merchant_admin_m1)
    assert client.get(url("attempts"), {"scope": "merchant:m_2"}).status_code == 403
    assert client.get(url("attempts"), {"scope": "platform"}).status_code == 403
    own = client.get(url("attempts")).json()
    assert own["scope"] == "merchant:m_1"
    assert sum(p["value"] for p in own["points"]) == 0


def test_unauthenticated_is_401(api_client):
    assert api_client.get(url("attempts")).status_code == 401


def test_several_metrics_in_one_read_equal_each_read_alone():
    from dashboard.snapshots.timeseries import (
        parse_series_query,
        series_points,
        series_points_many,
    )

    base = now_hour() - timedelta(hours=6)
    insert_event_rows(base, merchant="m_1", attempts=4, success_count=3, failed_count=1,
                      gmv="100.5", fraud_amount="2")  # fmt: skip
    insert_event_rows(base + timedelta(hours=2), merchant="m_1", source="wallet",
                      success_count=2, gmv="40")  # fmt: skip
    scope = Scope.parse("merchant:m_1")
    params = {"from": iso(base), "to": iso(base + timedelta(hours=4)), "currency": "XOF"}
    names = ("gmv", "success_count", "conversion_rate", "fraud_rate_bps", "sales")
    queries = [parse_series_query(metric=m, scope=scope, params=params) for m in names]
    together = series_points_many(queries)
    assert together == {q.metric: series_points(q) for q in queries}
    assert [v for _t, v in together["gmv"]] == ["100.5", "0", "40", "0"]
    assert [v for _t, v in together["conversion_rate"]] == [0.75, None, None, None]
    other = parse_series_query(metric="gmv", scope=scope, params={**params, "currency": "EUR"})
    with pytest.raises(ValueError):
        series_points_many([queries[0], other])
