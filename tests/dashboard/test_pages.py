"""Server-rendered overview and metrics pages: session login, the API's tenant-scope rules,
and figures equal to the API's (the raw value of each KPI is in a data-value attribute)."""

import re
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest
from django.test import override_settings
from django.utils import translation

from accounts.scope import Scope
from common.redis_mirror import mirror
from dashboard.snapshots import cache as snapshot_cache
from dashboard.snapshots.fx import fx_rates_load
from dashboard.snapshots.timeseries import METRICS
from dashboard.templatetags.money import amount, count, money, percent
from dashboard.web.explorer import METRIC_LABELS
from tests.dashboard import test_snapshots_support as support
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    now_hour,
    refreshed,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]
API = "/api/dashboard/overview"


def insert_event_rows(*args, **kwargs):
    """The support's rows, then the scheduled refresh: a read never computes a snapshot."""
    support.insert_event_rows(*args, **kwargs)
    refreshed()


def kpis(html):
    """{card key: (data-value, data-currency, shown text)} of the page's KPI cards."""
    found = {}
    pattern = (
        r'data-kpi="(\w+)">.*?class="kpi-value" data-value="([^"]*)" data-currency="([^"]*)">'
        r"(.*?)</p>"
    )
    for m in re.finditer(pattern, html, re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", m.group(4)).split())
        found[m.group(1)] = (m.group(2), m.group(3), text)
    return found


def api(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200
    return orjson.loads(response.content)


# ------------------------------------------------------------------ access


def test_pages_need_a_login_and_redirect_to_the_product_login(client):
    for path in ("/overview", "/overview/cards", "/overview/series", "/explore"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"/login?next={path}"


def test_a_poll_after_the_session_ended_sends_the_page_to_the_sign_in(client):
    response = client.get(
        "/overview/cards",
        {"period": "24h"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/overview?period=7d"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login?next=%2Foverview%3Fperiod%3D7d"


def test_staff_sees_any_scope_on_the_overview_page(client, ops_admin):
    insert_event_rows(hours_ago(1), merchant="m_7", gmv="700", success_count=1)
    client.force_login(ops_admin)
    response = client.get("/overview", {"scope": "merchant:m_7", "period": "7d"})
    assert response.status_code == 200
    assert b"Merchant m_7" in response.content
    assert kpis(response.content.decode())["gmv"] == ("700", "XOF", "XOF 700")


def test_merchant_page_shows_its_own_scope_and_refuses_another(client, merchant_admin_m1):
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="100", success_count=1)
    insert_event_rows(hours_ago(1), merchant="m_2", gmv="999", success_count=1)
    client.force_login(merchant_admin_m1)
    own = client.get("/overview")
    assert own.status_code == 200
    assert b"Merchant m_1" in own.content
    assert kpis(own.content.decode())["gmv"][0] == "100"
    assert b'id="scope-input"' not in own.content  # no picker for tenants
    for other in ("merchant:m_2", "platform", "region:SN"):
        response = client.get("/overview", {"scope": other})
        assert response.status_code == 403, other
        assert b"You may not view scope" in response.content
        assert b"data-kpi" not in response.content and b"999" not in response.content
        assert client.get("/overview/cards", {"scope": other}).status_code == 403
        assert client.get("/overview/series", {"scope": other}).status_code == 403


def test_bad_period_and_bad_scope_are_400_pages(client, ops_admin):
    client.force_login(ops_admin)
    response = client.get("/overview", {"period": "year"})
    assert response.status_code == 400
    assert b"Unknown period" in response.content
    response = client.get("/overview", {"scope": "galaxy:1"})
    assert response.status_code == 400
    assert b"Unknown scope" in response.content
    assert client.get("/overview/series", {"period": "year"}).status_code == 400
    assert client.get("/overview/cards", {"scope": "merchant:"}).status_code == 400


def test_both_pages_are_in_the_navigation_of_merchants_and_agents(client, agent_user):
    client.force_login(agent_user)
    html = client.get("/explore").content.decode()
    assert 'href="/overview"' in html and 'href="/explore"' in html
    assert 'aria-current="page"' in html


# ------------------------------------------------------------------ figures


def test_every_kpi_equals_the_api_figure_for_the_same_scope_and_period(client, ops_admin):
    insert_event_rows(
        hours_ago(2),
        merchant="m_1",
        attempts=10,
        success_count=8,
        failed_count=2,
        refunds_count=1,
        disputes_count=1,
        payouts_count=3,
        payouts_failed_count=1,
        fraud_count=1,
        gmv="1515000",
        fees="22725",
        revenue="16725.5",
        refunds_amount="30000",
        disputes_amount="1000",
        payouts_amount="900000",
        fraud_amount="15000",
    )
    client.force_login(ops_admin)
    body = api(client, scope="merchant:m_1", period="24h")
    shown = kpis(client.get("/overview", {"scope": "merchant:m_1"}).content.decode())
    xof = body["amounts"]["XOF"]
    assert shown["gmv"] == (xof["gmv"], "XOF", "XOF 1,515,000")
    assert shown["revenue"] == (xof["revenue"], "XOF", "XOF 16,726")  # 16725.5, no decimals
    assert shown["fees"] == (xof["fees"], "XOF", "XOF 22,725")
    assert shown["success_rate"] == (str(body["rates"]["success_rate"]), "", "80.0%")
    assert shown["conversion_rate"] == (str(body["rates"]["conversion_rate"]), "", "80.0%")
    assert shown["fraud_rate_bps"] == (str(body["rates"]["fraud_rate_bps"]), "", "99.01 bps")
    assert shown["refunds_count"] == ("1", "", "1")
    assert shown["disputes_count"] == ("1", "", "1")
    assert shown["payouts_count"] == ("3", "", "3")
    assert shown["success_count"] == ("8", "", "8")  # merchants have no float card
    assert "float" not in shown


def test_several_currencies_show_the_conversion_and_each_exact_amount(client, ops_admin):
    day = now_hour().date()
    fx_rates_load(rows=[("EUR", "XOF", day - timedelta(days=3), "655.957")])
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="1000", revenue="10", fees="20")
    insert_event_rows(hours_ago(1), merchant="m_1", currency="EUR", gmv="12.34", fees="0.5")
    insert_event_rows(hours_ago(1), merchant="m_1", currency="GHS", gmv="7", fees="0.25")
    client.force_login(ops_admin)
    body = api(client, scope="merchant:m_1")
    html = client.get("/overview", {"scope": "merchant:m_1"}).content.decode()
    shown = kpis(html)
    converted = body["converted"]
    assert converted["missing_rates"] == ["GHS"]
    assert shown["gmv"][:2] == (converted["gmv"], "XOF")
    assert shown["gmv"][2] == "XOF " + amount(converted["gmv"], "XOF")
    assert "All currencies, converted to XOF" in html and "excluding GHS (no FX rate)" in html
    # Every currency's exact amount is listed, the reporting currency first.
    gmv_card = html.split('data-kpi="gmv"')[1].split("</article>")[0]
    listed = re.findall(r'<li data-currency="(\w+)" data-value="([^"]*)">([^<]*)</li>', gmv_card)
    assert listed == [
        ("XOF", "1000", "XOF 1,000"),
        ("EUR", "12.34", "EUR 12.34"),
        ("GHS", "7", "GHS 7.00"),
    ]
    # Fees are not converted by the snapshot: the XOF figure, the others listed.
    assert shown["fees"] == ("20", "XOF", "XOF 20")
    assert "In XOF; other currencies below" in html
    assert "No FX rate into XOF for GHS" in html  # the page-level warning
    # The per-currency table holds the exact strings too.
    assert 'data-figure="gmv" data-value="12.34">12.34<' in html


def test_a_single_foreign_currency_is_shown_as_it_is(client, ops_admin):
    insert_event_rows(hours_ago(1), merchant="m_3", currency="EUR", gmv="99.5")
    client.force_login(ops_admin)
    shown = kpis(client.get("/overview", {"scope": "merchant:m_3"}).content.decode())
    assert shown["gmv"] == ("99.5", "EUR", "EUR 99.50")


def test_changes_against_the_previous_period_with_their_meaning(client, ops_admin):
    insert_event_rows(hours_ago(30), merchant="m_1", gmv="100", refunds_count=2, success_count=4)
    insert_event_rows(hours_ago(2), merchant="m_1", gmv="150", refunds_count=3, success_count=2,
                      disputes_count=1)  # fmt: skip
    client.force_login(ops_admin)
    html = client.get("/overview", {"scope": "merchant:m_1"}).content.decode()

    def pill(key):
        card = html.split(f'data-kpi="{key}"')[1].split("</article>")[0]
        m = re.search(r'class="kpi-change chg chg-(\w+) chg-(\w+)".*?aria-hidden="true">([^<]*)<',
                      card, re.S)  # fmt: skip
        return m and m.groups()

    assert pill("gmv") == ("good", "up", "▲ 50.0%")
    assert pill("refunds_count") == ("bad", "up", "▲ 50.0%")  # more refunds is bad
    assert pill("success_count") == ("bad", "down", "▼ 50.0%")
    assert pill("disputes_count") == ("bad", "new", "New")  # none the day before
    assert pill("fees") is None  # nothing in either period: no change to show


def test_top_lists_drill_down_for_staff_only(client, ops_admin, merchant_admin_m1, region_sn):
    insert_event_rows(hours_ago(1), merchant="m_1", country="SN", gmv="100")
    insert_event_rows(hours_ago(1), merchant="m_2", country="CI", gmv="300")
    client.force_login(ops_admin)
    html = client.get("/overview").content.decode()
    assert 'href="?scope=region%3ACI&amp;period=24h"' in html
    assert 'href="?scope=merchant%3Am_2&amp;period=24h"' in html
    assert html.index("merchant%3Am_2") < html.index("merchant%3Am_1")  # by volume
    # A merchant sees its countries, with no link: it may open no other scope.
    client.force_login(merchant_admin_m1)
    html = client.get("/overview").content.decode()
    tops = html.split('id="top-country"')[1].split("</section>")[0]
    assert 'data-row="SN"' in tops and "?scope=" not in tops  # (its transactions: /transactions)
    assert "Top merchants" not in html
    # A country's overview does not list itself as its top country.
    client.force_login(region_sn)
    html = client.get("/overview").content.decode()
    assert 'data-kpi="gmv"' in html and 'id="top-country"' not in html


def test_an_agent_sees_cash_in_and_out_instead_of_payment_cards(client, agent_user):
    insert_event_rows(hours_ago(1), agent="a_1", source="wallet", success_count=3,
                      cash_in_amount="50000", cash_out_amount="20000", gmv="70000")  # fmt: skip
    client.force_login(agent_user)
    shown = kpis(client.get("/overview").content.decode())
    assert list(shown) == [
        "gmv", "revenue", "cash_in_amount", "cash_out_amount", "success_count",
        "success_rate", "fees", "fraud_rate_bps", "payouts_count", "float",
    ]  # fmt: skip
    assert shown["cash_in_amount"] == ("50000", "XOF", "XOF 50,000")
    assert shown["cash_out_amount"] == ("20000", "XOF", "XOF 20,000")
    assert shown["float"][0] == ""  # no balance reported yet: a dash, not a zero


def test_a_merchant_without_traffic_gets_an_empty_state(client, merchant_admin_m2):
    refreshed("merchant:m_2")
    client.force_login(merchant_admin_m2)
    response = client.get("/overview", {"period": "7d"})
    assert response.status_code == 200
    assert b"No activity in this period" in response.content
    assert b"data-kpi" not in response.content
    assert b"No events counted in this period" in response.content


def test_stale_snapshot_shows_a_badge(client, ops_admin):
    from dashboard.snapshots.refresh import snapshot_refresh_scope

    snapshot_refresh_scope(scope=Scope.parse("merchant:m_6"))  # no run's freshness tick
    client.force_login(ops_admin)
    assert b">Stale<" not in client.get("/overview", {"scope": "merchant:m_6"}).content
    mirror.clear()
    from datetime import UTC, datetime

    body = orjson.loads(client.get(API, {"scope": "merchant:m_6"}).content)
    old = datetime.now(UTC) - timedelta(seconds=300)
    window_to = datetime.now(UTC) + timedelta(minutes=30)
    raw = orjson.dumps({"stale": False, **{k: v for k, v in body.items() if k != "stale"}})
    snapshot_cache.store("merchant:m_6", {"24h": (raw, old, window_to)})
    mirror.clear()
    with override_settings(SNAPSHOT_REFRESH_INTERVAL_S=60):
        html = client.get("/overview", {"scope": "merchant:m_6"}).content.decode()
    assert ">Stale</span>" in html


# ------------------------------------------------------------------ live partial and series


def test_cards_partial_answers_204_while_the_snapshot_is_unchanged(client, merchant_admin_m1):
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="100")
    client.force_login(merchant_admin_m1)
    page = client.get("/overview").content.decode()
    v = re.search(r'data-series-url="[^"]*&amp;v=([^"]+)"', page).group(1)
    from urllib.parse import unquote

    version = unquote(v)
    assert client.get("/overview/cards", {"period": "24h", "v": version}).status_code == 204
    fresh = client.get("/overview/cards", {"period": "24h", "v": "older"})
    assert fresh.status_code == 200
    assert kpis(fresh.content.decode())["gmv"][0] == "100"
    assert b'hx-trigger="every 5s"' in fresh.content
    assert b"<html" not in fresh.content  # a fragment, not a page


def test_series_endpoint_gives_every_card_in_one_response(client, client_for, ops_admin):
    base = now_hour()
    insert_event_rows(base - timedelta(hours=3), merchant="m_1", gmv="100", refunds_count=2,
                      attempts=4, success_count=3, failed_count=1)  # fmt: skip
    insert_event_rows(base - timedelta(hours=1), merchant="m_1", gmv="50.25", refunds_count=1)
    client.force_login(ops_admin)
    body = client.get("/overview/series", {"scope": "merchant:m_1", "period": "24h"}).json()
    assert body["granularity"] == "hour" and len(body["t"]) == 24
    assert set(body["series"]) == {
        "gmv", "revenue", "fees", "success_rate", "conversion_rate", "fraud_rate_bps",
        "refunds_count", "disputes_count", "payouts_count", "success_count",
    }  # fmt: skip
    assert body["meta"]["gmv"] == {"metric": "gmv", "kind": "money", "currency": "XOF"}
    # The same values as the time-series API over the same buckets.
    params = {"scope": "merchant:m_1", "from": body["t"][0], "granularity": "hour"}
    params["to"] = body["t"][-1].replace(":00:00Z", ":00:01Z")
    staff = client_for(ops_admin)
    for metric, currency in (("gmv", "XOF"), ("refunds_count", ""), ("success_rate", "")):
        points = staff.get(
            f"/api/dashboard/metrics/{metric}/timeseries", {**params, "currency": currency}
        ).json()["points"]
        assert [p["t"] for p in points] == body["t"]
        assert [p["value"] for p in points] == body["series"][metric], metric
    assert sum(Decimal(v) for v in body["series"]["gmv"]) == Decimal("150.25")
    daily = client.get("/overview/series", {"scope": "merchant:m_1", "period": "30d"}).json()
    assert daily["granularity"] == "day" and len(daily["t"]) in (30, 31)
    assert sum(daily["series"]["refunds_count"]) == 3


def test_series_of_several_currencies_is_converted_like_the_headline(client, ops_admin):
    day = now_hour().date()
    fx_rates_load(rows=[("EUR", "XOF", day - timedelta(days=3), "600")])
    insert_event_rows(hours_ago(2), merchant="m_1", gmv="1000", fraud_amount="10")
    insert_event_rows(hours_ago(2), merchant="m_1", currency="EUR", gmv="2", fraud_amount="1")
    client.force_login(ops_admin)
    body = client.get("/overview/series", {"scope": "merchant:m_1"}).json()
    assert body["meta"]["gmv"]["currency"] == "XOF"
    gmv = [Decimal(v) for v in body["series"]["gmv"]]
    assert (
        sum(gmv)
        == Decimal("2200")
        == Decimal(api(client, scope="merchant:m_1")["converted"]["gmv"])
    )
    i = gmv.index(Decimal("2200"))
    assert body["series"]["fraud_rate_bps"][i] == round(10000 * 610 / 2200, 2)


# ------------------------------------------------------------------ metrics explorer


def test_explorer_defaults_to_gmv_in_xof_over_the_last_seven_days(client, merchant_admin_m1):
    client.force_login(merchant_admin_m1)
    response = client.get("/explore")
    assert response.status_code == 200
    config = orjson.loads(
        re.search(
            rb'<script id="explorer-config" type="application/json">(.*?)</script>',
            response.content,
            re.S,
        ).group(1)  # fmt: skip
    )
    assert config["metric"] == "gmv" and config["currency"] == "XOF" and config["kind"] == "money"
    assert config["api"].startswith("/api/dashboard/metrics/gmv/timeseries?scope=merchant%3Am_1")
    assert "granularity=hour" in config["api"]
    # The page's API URL answers with the session, JSON and CSV.
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="42")
    points = client.get(config["api"]).json()["points"]
    assert 24 * 6 < len(points) <= 24 * 7
    assert sum(Decimal(p["value"]) for p in points) == 42
    csv = client.get(config["api"] + "&format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert b'href="' + config["api"].replace("&", "&amp;").encode() + b'&amp;format=csv"' in (
        response.content
    )


def test_explorer_counts_default_to_every_currency(client, ops_admin):
    client.force_login(ops_admin)
    html = client.get("/explore", {"metric": "refunds_count"}).content.decode()
    config = re.search(r'<script id="explorer-config" type="application/json">(.*?)</script>',
                       html, re.S).group(1)  # fmt: skip
    assert "currency=" not in orjson.loads(config)["api"]
    assert '<option value="" selected data-any>' in html


def test_explorer_passes_filters_and_dates_to_the_api(client, ops_admin):
    client.force_login(ops_admin)
    response = client.get("/explore", {
        "scope": "region:SN", "metric": "refunds_count", "from": "2026-01-01",
        "to": "2026-01-31", "granularity": "day", "currency": "", "source": "connect",
        "country": "sn", "region": "Dakar", "city": "Pikine", "chart": "bar",
    })  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "/api/dashboard/metrics/refunds_count/timeseries?scope=region%3ASN"
        "&amp;from=2026-01-01T00%3A00%3A00Z&amp;to=2026-02-01T00%3A00%3A00Z&amp;granularity=day"
        "&amp;source=connect&amp;country=SN&amp;region=Dakar&amp;city=Pikine"
    ) in html
    assert 'data-chart-type="bar" aria-pressed="true"' in html


def test_explorer_shows_the_api_field_errors_next_to_the_fields(client, ops_admin):
    client.force_login(ops_admin)
    response = client.get("/explore", {
        "metric": "gmv", "currency": "", "from": "2026-01-01", "to": "2026-03-31",
        "granularity": "hour", "country": "SEN", "source": "bank",
    })  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()

    def errors(field):
        m = re.search(rf'<ul class="errorlist" id="err-{field}"[^>]*>(.*?)</ul>', html, re.S)
        return re.findall(r"<li>(.*?)</li>", m.group(1))

    assert errors("currency") == ["Money metric &#x27;gmv&#x27; needs a currency."]
    assert errors("to") == ["Range too long for hour granularity (at most 31 days)."]
    assert errors("country") == ["Not an ISO 3166-1 alpha-2 code: &#x27;SEN&#x27;."]
    assert errors("source") == ["Must be wallet or connect."]
    assert errors("metric") == []
    assert "explorer-config" not in html  # nothing is drawn
    bad_date = client.get("/explore", {"from": "yesterday"})
    assert bad_date.status_code == 400 and b"Enter a date as YYYY-MM-DD." in bad_date.content
    unknown = client.get("/explore", {"metric": "galaxies"})
    assert unknown.status_code == 400 and b"Unknown metric" in unknown.content
    bad_scope = client.get("/explore", {"scope": "galaxy:1"})
    assert bad_scope.status_code == 400 and b"Unknown scope" in bad_scope.content


def test_explorer_refuses_another_tenant_scope(client, merchant_admin_m1):
    client.force_login(merchant_admin_m1)
    response = client.get("/explore", {"scope": "merchant:m_2"})
    assert response.status_code == 403
    assert b"You may not view this scope" in response.content
    assert b"explorer-config" not in response.content
    own = client.get("/explore", {"scope": "merchant:m_1"})
    assert own.status_code == 200 and b'id="scope-input"' not in own.content


def test_explorer_offers_every_metric_and_the_currencies_seen(client, ops_admin):
    assert set(METRIC_LABELS) == set(METRICS)
    insert_event_rows(hours_ago(1), merchant="m_9", currency="GNF", gmv="5000")
    client.force_login(ops_admin)
    html = client.get("/explore", {"scope": "merchant:m_9"}).content.decode()
    assert re.findall(r'<option value="([A-Z]{3})"', html) == ["GNF", "XOF"]
    for metric in METRICS:
        assert f'<option value="{metric}"' in html


# ------------------------------------------------------------------ formatting


def test_money_filter_formats_per_currency_and_language():
    assert money("75793775", "XOF") == "XOF 75,793,775"
    assert money("2.5", "XOF") == "XOF 3"  # half up, like Intl in the browser
    assert money("64499905.4999", "GNF") == "GNF 64,499,905"
    assert money("5109.075", "EUR") == "EUR 5,109.08"
    assert money(None, "XOF") == "—" and money("not a number", "XOF") == "—"
    assert count(1234567) == "1,234,567"
    assert percent(0.9044) == "90.4%"
    with translation.override("fr"):
        assert amount("75793775", "XOF") == "75\xa0793\xa0775"
        assert amount("5109.075", "EUR") == "5\xa0109,08"


def test_scope_label_is_kept_in_the_page_title_area(client, ops_admin):
    refreshed("bank:b_1")
    client.force_login(ops_admin)
    html = client.get("/overview", {"scope": str(Scope.parse("bank:b_1"))}).content.decode()
    assert "Bank b_1" in html
