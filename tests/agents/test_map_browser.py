"""The agent map and the float treasury in real Chromium: staff see server clusters drawn
over the offline basemap and the float page's charts; an agent user sees only itself.
No console error, no failed request, no serious accessibility violation."""

from decimal import Decimal

import pytest

from agents.models import Agent
from agents.services import agent_map_grid_rebuild
from tests.agents.helpers import ABIDJAN, DAKAR, THIES, place
from tests.browser import screenshot, serious_axe_violations, sign_in, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def agents_world(transactional_db):
    """Agents around Dakar, Thiès and Abidjan (a_1 in Dakar), one of them low, grid built."""
    for i in range(12):
        place(f"a_dk{i:02d}", DAKAR[0] + i * 0.004, DAKAR[1] + i * 0.003, str(200000 + i * 1000))
    for i in range(5):
        place(f"a_th{i:02d}", THIES[0] + i * 0.003, THIES[1], "300000")
    for i in range(7):
        place(f"a_ab{i:02d}", ABIDJAN[0] + i * 0.004, ABIDJAN[1], "400000", country="CI")
    place("a_1", DAKAR[0] - 0.01, DAKAR[1] + 0.01, "50000")  # under the 100 000 threshold
    agent_map_grid_rebuild()
    total = sum(a.float_balance for a in Agent.objects.all())
    return {"total_xof": total}


def _text(page, selector):
    """Visible text with Intl's no-break spaces as plain ones."""
    return page.inner_text(selector).replace("\u00a0", " ").replace("\u202f", " ")


def _open(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US")
    return context, context.new_page()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_staff_see_clusters_then_the_float_treasury(
    live_server, browser, ops_admin, agents_world, viewport
):
    context, page = _open(browser, viewport)
    problems = watch(page)
    sign_in(page, live_server.url, ops_admin, next_url="/map")
    page.wait_for_selector(".cluster-icon")
    page.wait_for_load_state("networkidle")
    assert page.locator(".cluster-icon").count() > 0
    assert page.get_attribute("#agent-map", "data-mode") == "clusters"
    # The discs together hold every agent of the view (25), as the status line says.
    counts = page.eval_on_selector_all(
        ".cluster-icon .disc", "els => els.map(e => Number(e.dataset.count))"
    )
    assert sum(counts) == 25
    assert "25 agents in view" in page.inner_text("#map-status")
    # A cluster's popup: agents, float and 24 h sales per currency, formatted.
    page.locator(".cluster-icon").first.click()
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert "XOF" in popup.inner_text() and "Sales 24 h" in popup.inner_text()
    page.wait_for_selector(".leaflet-basemap-pane canvas")  # the offline country outlines
    assert serious_axe_violations(page) == []
    screenshot(page, f"agents-map-staff-{viewport['width']}")

    # Nearby search from Dakar: a list with distances, the clusters make way for it.
    page.fill("#nearby-lat", str(DAKAR[0]))
    page.fill("#nearby-lon", str(DAKAR[1]))
    page.select_option("#nearby-radius", "10000")
    page.click("#nearby-form button[type=submit]")
    page.wait_for_selector(".nearby-list li")
    assert page.locator(".nearby-list li").count() == 13  # the Dakar agents and a_1
    assert page.locator(".nearby-list .dist").first.inner_text().endswith("m")
    assert page.locator(".cluster-icon").count() == 0
    page.wait_for_timeout(400)  # the map's debounced reload after fitting the search circle
    page.wait_for_selector("#agent-map[data-loading='0']")

    page.goto(f"{live_server.url}/float")
    page.wait_for_selector("#chart-by-country canvas")
    page.wait_for_selector("#chart-history canvas")
    total = f"XOF {int(agents_world['total_xof']):,}"
    assert total in _text(page, ".kpis")
    assert "a_1" in page.inner_text("#low-table")
    # The history read-out: today's end equals the total; hovering an early day of the
    # 30-day window (before these agents existed) reads zero.
    assert f"Total {total}" in _text(page, "#history-readout")
    page.locator("#chart-history").scroll_into_view_if_needed()
    box = page.locator("#chart-history").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(200)
    assert "Total XOF 0" in _text(page, "#history-readout")
    assert serious_axe_violations(page) == []
    screenshot(page, f"agents-float-staff-{viewport['width']}")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= viewport["width"]
    assert problems == []
    context.close()


def test_agent_user_sees_only_itself(live_server, browser, agent_user, agents_world):
    context, page = _open(browser, PHONE)
    problems = watch(page)
    sign_in(page, live_server.url, agent_user, next_url="/map")
    page.wait_for_selector(".agent-icon")
    page.wait_for_load_state("networkidle")
    assert page.locator(".agent-icon").count() == 1
    assert page.locator(".cluster-icon").count() == 0
    popup = page.wait_for_selector(".leaflet-popup-content")  # opened on its own marker
    assert "a_1" in popup.inner_text() and "Low float" in popup.inner_text()
    assert "XOF 50,000" in _text(page, "#own-title + dl")
    # Zoomed out, still only itself.
    page.evaluate("document.querySelector('.leaflet-control-zoom-out').click()")
    page.evaluate("document.querySelector('.leaflet-control-zoom-out').click()")
    page.wait_for_timeout(700)  # zoom animations, then the debounced reload
    page.wait_for_selector("#agent-map[data-loading='0']")
    assert page.locator(".agent-icon").count() == 1
    assert serious_axe_violations(page) == []
    screenshot(page, "agents-map-agent-390")

    page.goto(f"{live_server.url}/float")
    page.wait_for_selector("#chart-history canvas")
    text = _text(page, "main")
    assert "XOF 50,000" in text and "Below threshold" in text
    for other in ("a_dk00", "a_th00", "a_ab00", "Côte"):
        assert other not in page.content()
    assert serious_axe_violations(page) == []
    screenshot(page, "agents-float-agent-390")
    assert problems == []
    assert Agent.objects.get(agent_id="a_1").float_balance == Decimal("50000")
    context.close()
