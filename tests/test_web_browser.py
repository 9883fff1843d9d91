"""Every role, every page of its navigation, in real Chromium: signs in on the product page,
opens each page it may see (desktop, and a 390 px phone for the roles that work from phones),
in English and French, with no console error, no failed request and no serious or critical
accessibility violation (axe-core, on the English passes: the French one changes words only).
Screenshots land in test-results/screenshots/."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.choices import Role
from accounts.scope import Scope
from accounts.web.nav import pages_for
from common import dbroles
from dashboard.ingest.services import ingest
from dashboard.snapshots.refresh import snapshot_refresh_scope
from tests.browser import (
    RECORD_CSP_VIOLATIONS,
    assert_strict_csp,
    csp_violations,
    screenshot,
    serious_axe_violations,
    settle,
    sign_in,
    watch,
)
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# Menu and page-chrome words that must not survive in the French pages.
ENGLISH_CHROME = ["Overview", "Sign out", "Change password", "API documentation", "Skip to content"]


def _events():
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)

    def event(etype, **fields):
        wallet = etype.startswith(("cash_", "transfer", "agent."))
        base = {
            "event_id": uuid.uuid4().hex,
            "type": etype,
            "source": "wallet" if wallet else "connect",
            "occurred_at": (hour + timedelta(minutes=7)).isoformat(),
            "country": "SN",
            "region": "Dakar",
            "city": "Dakar",
            "currency": "XOF",
            "amount": "15000",
        }
        base.update(fields)
        return base

    return [
        event("payment.succeeded", merchant_id="m_1", bank_id="b_1", amount="250000", fee="3750"),
        event("payment.succeeded", merchant_id="m_1", amount="120000", fee="1800"),
        event("payment.failed", merchant_id="m_1"),
        event("payout.completed", merchant_id="m_1", bank_id="b_1", amount="90000"),
        event("cash_in.completed", agent_id="a_1", amount="50000"),
        event("cash_out.completed", agent_id="a_1", amount="20000"),
        event("agent.float_updated", agent_id="a_1", balance="450000", amount=None),
    ]


@pytest.fixture
def web_world(transactional_db):
    """One merchant, agent, bank and country with figures, snapshots refreshed; the ingestion
    tables are emptied afterwards (they are raw SQL tables a flush does not reset)."""
    events = [{k: v for k, v in e.items() if v is not None} for e in _events()]
    ingest(events)
    for scope in ("platform", "merchant:m_1", "agent:a_1", "bank:b_1", "region:SN"):
        snapshot_refresh_scope(scope=Scope.parse(scope), wait=True)
    users = {
        "ops_admin": make_user("ops_admin", Role.OPS_ADMIN),
        "finance_ops": make_user("finance_ops", Role.FINANCE_OPS),
        "bank": make_user("bank_b1", Role.FINANCE_OPS, "bank:b_1"),
        "region": make_user("region_sn", Role.OPS_ADMIN, "region:SN"),
        "merchant": make_user("merchant_m1", Role.MERCHANT_ADMIN, "merchant:m_1"),
        "agent": make_user("agent_a1", Role.AGENT, "agent:a_1"),
    }
    yield users
    with dbroles.as_owner(), connection.cursor() as cur:  # the app role may truncate nothing
        cur.execute(
            "TRUNCATE dashboard_hourly_aggregate, dashboard_seen_event, "
            "dashboard_dirty_change, dashboard_dead_letter, dashboard_bank_merchant_hourly, "
            "dashboard_transaction"
        )


def _visit_every_page(browser, base_url, user, *, viewport, locale, shots):
    context = browser.new_context(viewport=viewport, locale=locale)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems = watch(page)
    settle(page)  # tracks the requests in flight from here on
    sign_in(page, base_url, user)
    visited = []
    for entry in pages_for(user):
        response = page.goto(f"{base_url}/{_path(entry.url_name)}")
        page.wait_for_load_state("load")
        settle(page)  # charts, maps and tables draw when their fetches answer
        assert_strict_csp(response.headers.get("content-security-policy"), entry.key)
        assert csp_violations(page) == [], (entry.key, csp_violations(page))
        assert page.locator("main h1").count() >= 1, entry.key
        assert "Traceback" not in page.content()
        if not locale.startswith("fr"):  # the French pass changes words, not structure or colours
            violations = serious_axe_violations(page)
            assert violations == [], (entry.key, violations)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{entry.key} scrolls sideways by {overflow}px at {viewport}"
        if locale.startswith("fr"):
            assert page.locator("html").get_attribute("lang") == "fr"
            chrome = page.inner_text("nav.sidebar") if viewport == DESKTOP else ""
            leftover = [w for w in ENGLISH_CHROME if w in chrome]
            assert leftover == [], (entry.key, leftover)
        if shots:
            screenshot(page, f"{user.username}-{entry.key}-{locale}-{viewport['width']}")
        visited.append(entry.key)
    context.close()
    assert problems == [], problems
    return visited


def _path(url_name):
    from django.urls import reverse

    return reverse(url_name).lstrip("/")


@pytest.mark.parametrize(
    ("who", "viewports", "french"),
    [
        ("ops_admin", [DESKTOP, PHONE], True),
        ("finance_ops", [DESKTOP], False),
        ("bank", [DESKTOP], False),
        ("region", [DESKTOP], True),
        ("merchant", [DESKTOP, PHONE], True),
        ("agent", [PHONE, DESKTOP], True),
    ],
)
def test_every_page_of_every_role_works_in_chromium(
    browser, live_server, web_world, who, viewports, french
):
    user = web_world[who]
    for viewport in viewports:
        visited = _visit_every_page(
            browser, live_server.url, user, viewport=viewport, locale="en-US", shots=True
        )
        assert "overview" in visited
    if french:  # the roles whose menus differ; the others share their pages
        _visit_every_page(
            browser, live_server.url, user, viewport=DESKTOP, locale="fr-FR", shots=True
        )
