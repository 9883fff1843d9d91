"""The Transactions page in real Chromium: a merchant sees its own events arrive live, never
another merchant's; Pause holds new rows back until Resume; no console error."""

import pytest

from dashboard import stream
from dashboard.ingest.services import ingest
from tests.browser import screenshot, serious_axe_violations, sign_in, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def feeds_clean(ingest_clean, feed_clean):
    """Empty feeds and ingestion tables, before and after."""


def _row(page, event):
    return page.locator(f'tr[data-event="{event["event_id"]}"]')


def test_a_merchant_sees_its_own_events_arrive_live_and_can_pause(
    page, live_server, merchant_admin_m1, feeds_clean, ingest_event
):
    problems = watch(page)
    earlier = ingest_event("payment.succeeded", merchant_id="m_1", amount="250000", fee="3750")
    ingest([earlier])
    assert stream.feed_flush()
    sign_in(page, live_server.url, merchant_admin_m1, next_url="/stream")
    page.goto(f"{live_server.url}/stream")
    page.wait_for_selector('[data-stream-state="live"]', timeout=10_000)
    # The feed's latest entries are there on arrival, amount formatted for its currency.
    assert "250,000" in _row(page, earlier).inner_text()

    mine = ingest_event("refund.succeeded", merchant_id="m_1", amount="12000")
    other = ingest_event("payment.succeeded", merchant_id="m_2", amount="999999")
    ingest([other, mine])  # through the real ingestion path, committed
    _row(page, mine).wait_for(timeout=5_000)
    rows = page.locator("tbody[data-rows] tr")
    assert rows.first.get_attribute("data-event") == mine["event_id"]  # newest on top
    assert "is-new" in rows.first.get_attribute("class")
    assert "Refund" in rows.first.inner_text()
    page.wait_for_timeout(1500)
    assert _row(page, other).count() == 0
    assert "999,999" not in page.inner_text("main")
    assert page.inner_text("[data-count-received]") == "2"

    page.click("[data-pause]")
    assert page.get_attribute("[data-pause]", "aria-pressed") == "true"
    held = ingest_event("payment.failed", merchant_id="m_1")
    ingest([held])
    page.wait_for_selector("[data-buffered]:not([hidden])", timeout=5_000)
    assert page.inner_text("[data-buffered]").startswith("1")
    assert _row(page, held).count() == 0 and rows.count() == 2
    assert page.get_attribute("[data-stream-state]", "data-stream-state") == "paused"
    page.click("[data-pause]")
    _row(page, held).wait_for(timeout=2_000)
    assert rows.count() == 3 and rows.first.get_attribute("data-event") == held["event_id"]

    # Client-side filters: by type, then by source.
    page.select_option("[data-filter-type]", "payment.failed")
    assert page.locator("tbody[data-rows] tr:visible").count() == 1
    assert page.inner_text("[data-count-shown]") == "1"
    page.select_option("[data-filter-type]", "")
    page.click('[data-filter-source] button[data-source="wallet"]')
    assert page.locator("tbody[data-rows] tr:visible").count() == 0
    assert page.locator("[data-empty-filtered]").is_visible()
    page.click('[data-filter-source] button[data-source=""]')

    assert serious_axe_violations(page) == []
    screenshot(page, "stream-merchant-1366")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    screenshot(page, "stream-merchant-390")
    assert problems == [], problems


def test_a_merchant_asking_for_another_scope_gets_the_403_page(
    page, live_server, merchant_admin_m1, feeds_clean
):
    sign_in(page, live_server.url, merchant_admin_m1, next_url="/stream")
    response = page.goto(f"{live_server.url}/stream?scope=merchant:m_2")
    assert response.status == 403
    assert "You may not view this scope" in page.inner_text("main")
    events = page.evaluate(
        "async () => { const r = await fetch('/stream/events?scope=merchant:m_2');"
        " return [r.status, await r.text()]; }"
    )
    assert events[0] == 403 and "data:" not in events[1]
