"""The overview and metrics pages in real Chromium: the figures shown equal the API's for the
same scope and period, no console error or failed request, no serious accessibility
violation, no horizontal scrolling on a phone; screenshots kept as CI artifacts."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from dashboard.snapshots.fx import fx_rates_load
from dashboard.snapshots.refresh import snapshots_refresh_dirty
from tests.browser import screenshot, serious_axe_violations, sign_in, watch
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    insert_event_rows,
    now_hour,
    wiped_aggregates,  # noqa: F401
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_overview_cache", "wiped_aggregates"),
]
NO_DECIMALS = {"XOF", "XAF", "GNF"}


def shown(value, currency):
    """How an amount must read on an English page, computed here without product code."""
    places = Decimal(1) if currency in NO_DECIMALS else Decimal("0.01")
    return f"{Decimal(value).quantize(places, rounding=ROUND_HALF_UP):,}"


@pytest.fixture
def figures():
    """Two merchants' traffic in the last hours, two currencies, an FX rate; snapshots refreshed."""
    fx_rates_load(rows=[("EUR", "XOF", now_hour().date() - timedelta(days=5), "655.957")])
    for hours, gmv in ((1, "1515000"), (3, "250000.5"), (30, "900000")):
        insert_event_rows(hours_ago(hours), merchant="m_1", country="SN", attempts=12,
                          success_count=10, failed_count=2, refunds_count=1, payouts_count=2,
                          gmv=gmv, fees="2272.5", revenue="1672.25", refunds_amount="3000",
                          payouts_amount="90000", fraud_amount="1500")  # fmt: skip
    insert_event_rows(hours_ago(2), merchant="m_2", country="CI", currency="EUR", attempts=3,
                      success_count=3, gmv="1234.56", fees="12.35", revenue="9.99")  # fmt: skip
    snapshots_refresh_dirty()


def api_json(page, path):
    return page.evaluate(
        "async (path) => { const r = await fetch(path, {credentials: 'same-origin'});"
        " return {status: r.status, body: await r.json()}; }",
        path,
    )


def page_kpis(page):
    return page.eval_on_selector_all(
        "[data-kpi]",
        """cards => Object.fromEntries(cards.map(c => {
            const v = c.querySelector('.kpi-value');
            return [c.dataset.kpi, {value: v.dataset.value, currency: v.dataset.currency,
                                    text: v.innerText.replace(/\\s+/g, ' ').trim()}];
        }))""",
    )


def hover_tip(page, selector):
    """Move the mouse over the middle of a chart; the tooltip's (title, value) lines."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = page.locator(".chart-tip:not([hidden])")
    tip.wait_for()
    title, value = tip.inner_text().replace("\xa0", " ").split("\n")
    page.mouse.move(0, 0)
    return title, value


def check_overview(page, base, scope, name):
    page.goto(f"{base}/overview?scope={scope}&period=24h")
    page.wait_for_selector("[data-spark] canvas")
    api = api_json(page, f"/api/dashboard/overview?scope={scope}&period=24h")
    assert api["status"] == 200
    body = api["body"]
    kpis = page_kpis(page)
    amounts = body["amounts"]
    if len([c for c, a in amounts.items() if Decimal(a["gmv"])]) > 1:
        gmv, currency = body["converted"]["gmv"], body["converted"]["currency"]
    else:
        ((currency, figures),) = amounts.items()
        gmv = figures["gmv"]
    assert kpis["gmv"]["value"] == gmv and kpis["gmv"]["currency"] == currency
    assert kpis["gmv"]["text"] == f"{currency} {shown(gmv, currency)}"
    counts = body["counts"]
    for key in ("refunds_count", "disputes_count", "payouts_count"):
        assert kpis[key]["value"] == str(counts[key])
        assert kpis[key]["text"] == f"{counts[key]:,}"
    rates = body["rates"]
    assert kpis["success_rate"]["value"] == str(rates["success_rate"])
    assert kpis["success_rate"]["text"] == f"{Decimal(str(rates['success_rate'])) * 100:.1f}%"
    # Each currency's exact amount is on the page when several moved.
    listed = page.eval_on_selector_all(
        "[data-kpi=gmv] li[data-currency]", "els => els.map(e => [e.dataset.currency, "
        "e.dataset.value])",
    )  # fmt: skip
    if len(amounts) > 1:
        assert sorted(map(tuple, listed)) == sorted((c, a["gmv"]) for c, a in amounts.items())
    # The wide chart's tooltip reads a bucket of the card's series.
    series = api_json(page, page.get_attribute("#live", "data-series-url"))["body"]
    title, value = hover_tip(page, "[data-kpi=gmv] .kpi-spark")
    assert title.endswith("UTC")
    assert value in {f"{currency} {shown(v, currency)}" for v in series["series"]["gmv"]}
    screenshot(page, f"overview-{name}-desktop")
    return body


def check_explorer(page, base, scope, name):
    page.goto(f"{base}/explore?scope={scope}&metric=gmv&currency=XOF&granularity=hour")
    page.wait_for_selector("#explorer-chart[data-ready=true]")
    api_url = page.eval_on_selector("#explorer-config", "n => JSON.parse(n.textContent).api")
    api = api_json(page, api_url)
    assert api["status"] == 200
    points = api["body"]["points"]
    assert page.get_attribute("#explorer-chart", "data-points") == str(len(points))
    cells = page.eval_on_selector_all(
        "#chart-table tbody td.num", "tds => tds.map(td => td.dataset.value)"
    )
    assert cells == [str(p["value"]) for p in points]
    total = sum(Decimal(p["value"]) for p in points)
    stats = page.inner_text("#chart-stats")
    assert f"XOF {shown(total, 'XOF')}" in " ".join(stats.split())
    csv = page.eval_on_selector("[data-csv]", "a => a.getAttribute('href')")
    assert csv == api_url + "&format=csv"
    title, value = hover_tip(page, "#explorer-chart")
    assert value in {f"XOF {shown(p['value'], 'XOF')}" for p in points}
    page.click("[data-chart-type=bar]")
    assert "chart=bar" in page.url
    screenshot(page, f"explorer-{name}-desktop")
    return total


@pytest.mark.parametrize(
    ("user_fixture", "scope"), [("ops_admin", "platform"), ("merchant_admin_m1", "merchant:m_1")]
)
def test_pages_show_the_api_figures_in_chromium(
    request, live_server, browser, figures, user_fixture, scope
):
    user = request.getfixturevalue(user_fixture)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server.url, user)
    body = check_overview(page, live_server.url, scope, user.username)
    if scope == "platform":
        assert body["converted"]["gmv"] != body["amounts"]["XOF"]["gmv"]  # the conversion shows
        # Staff drill down into a merchant from the top list.
        page.click(".top-table a[href*='merchant%3Am_1']")
        page.wait_for_selector("[data-kpi=gmv]")
        assert "Merchant m_1" in page.inner_text(".page-head")
    else:
        assert page.locator("#scope-input").count() == 0
        # Its top lists link only to its own transactions, never to another scope.
        hrefs = page.locator(".top-table a").evaluate_all("links => links.map(a => a.href)")
        assert all("/transactions" in h and "merchant%3Am_1" in h for h in hrefs), hrefs
    assert serious_axe_violations(page) == []
    total = check_explorer(page, live_server.url, scope, user.username)
    assert total == Decimal("1515000") + Decimal("250000.5") + Decimal("900000")
    assert serious_axe_violations(page) == []
    # A phone: no horizontal page scroll on either page.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/overview?scope={scope}", f"/explore?scope={scope}"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(page, f"{path.split('?')[0].strip('/')}-{user.username}-phone")
    assert problems == []
    context.close()


def test_a_forbidden_scope_and_bad_fields_render_clear_pages(live_server, browser,
                                                             merchant_admin_m1):  # fmt: skip
    page = browser.new_page()
    sign_in(page, live_server.url, merchant_admin_m1)
    response = page.goto(f"{live_server.url}/overview?scope=merchant:m_2")
    assert response.status == 403
    assert "You may not view this scope" in page.inner_text("main")
    response = page.goto(
        f"{live_server.url}/explore?metric=gmv&currency=&from=2026-01-01&to=2026-03-31"
    )
    assert response.status == 400
    assert "needs a currency" in page.inner_text("#err-currency")
    assert "at most 31 days" in page.inner_text("#err-to")
    assert serious_axe_violations(page) == []
    page.close()
