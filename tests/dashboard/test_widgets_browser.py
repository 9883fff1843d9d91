"""The home page's widget grid in real Chromium: a merchant drags a widget to a new place,
configures another through the generated form, and finds both so after a reload; no console
error, no failed request, no serious accessibility violation."""

from datetime import timedelta

import pytest

from accounts.scope import Scope
from dashboard.models import Widget
from dashboard.snapshots.refresh import snapshot_refresh_scope
from tests.browser import screenshot, serious_axe_violations, sign_in, watch
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    insert_event_rows,
    wiped_aggregates,  # noqa: F401
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_overview_cache", "wiped_aggregates"),
]


def _ready(page):
    page.wait_for_selector("#widget-grid[data-ready='1'] .widget")
    page.wait_for_load_state("networkidle")


def test_a_merchant_moves_and_configures_a_widget_and_finds_it_after_reload(
    browser, live_server, merchant_admin_m1
):
    insert_event_rows(hours_ago(2), merchant="m_1", gmv="150000", attempts=3, success_count=2,
                      failed_count=1)  # fmt: skip
    insert_event_rows(hours_ago(2) - timedelta(days=2), merchant="m_1", gmv="90000")
    snapshot_refresh_scope(scope=Scope.parse("merchant:m_1"), wait=True)  # as beat does
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server.url, merchant_admin_m1)
    assert page.url.endswith("/home")
    _ready(page)
    widgets = page.locator(".widget")
    count = widgets.count()
    assert count == 6
    assert page.locator(".widget-chart canvas").count() >= 1  # ECharts drew

    # Move: the gauge (top right, x=8) dragged by its title bar four columns to the left.
    gauge = page.locator(".widget-gauge")
    assert gauge.get_attribute("data-x") == "8"
    page.click("#home-edit")
    head = gauge.locator(".widget-head").bounding_box()
    col = page.locator("#widget-grid").bounding_box()["width"] / 12
    x, y = head["x"] + 20, head["y"] + head["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 2 * col, y, steps=4)
    page.mouse.move(x - 4 * col, y + 3 * 76, steps=4)
    with page.expect_response(lambda r: r.url.endswith("/widgets/layout")) as saved:
        page.mouse.up()
    assert saved.value.status == 200
    page.wait_for_selector("#home-status:has-text('Layout saved')")
    _ready(page)

    # Configure: the bar chart shows attempts over 30 days, retitled.
    page.locator(".widget-chart_bar .widget-configure").click()
    page.fill("#cfg-title", "Attempts, 30 days")
    page.select_option("#cfg-metric", "attempts")
    page.select_option("#cfg-period", "30d")
    page.click("#config-save")
    page.wait_for_selector("#home-status:has-text('Widget saved')")
    _ready(page)

    page.reload()
    _ready(page)
    gauge = page.locator(".widget-gauge")
    stored = Widget.objects.get(owner=merchant_admin_m1, type="gauge")
    assert stored.x == 4  # four columns left of where it was
    assert (gauge.get_attribute("data-x"), gauge.get_attribute("data-y")) == ("4", str(stored.y))
    bar = page.locator(".widget-chart_bar")
    assert bar.locator(".widget-title").inner_text() == "Attempts, 30 days"
    row = Widget.objects.get(owner=merchant_admin_m1, type="chart_bar")
    assert row.config["metric"] == "attempts" and row.config["period"] == "30d"
    assert Widget.objects.filter(owner=merchant_admin_m1).count() == count
    # What the gauge shows is the overview's success rate (2 of 3).
    assert gauge.locator(".gauge-value").get_attribute("data-value") == "0.6667"
    assert serious_axe_violations(page) == []
    screenshot(page, "merchant-home-arranged")
    context.close()
    assert problems == [], problems
