"""In Chromium: the SIRA feed, a recommendation's page and the ops console panel under the
strict CSP, with no serious accessibility violation, on a phone-sized screen."""

import pytest

from accounts.choices import Role
from sira import services
from sira.choices import Origin
from tests.browser import (
    RECORD_CSP_VIOLATIONS,
    csp_violations,
    serious_axe_violations,
    sign_in,
    watch,
)
from tests.factories import make_user
from tests.sira.conftest import payload

PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_sira_pages_in_chromium(browser, live_server):
    applier = make_user("sira_applier", Role.OPS_ADMIN)
    approver = make_user("sira_approver", Role.OPS_ADMIN)
    rec, _ = services.recommendation_ingest(data=payload(), origin=Origin.API)
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server.url, applier, next_url="/sira")
    for path in ("/sira", f"/sira/{rec.pk}"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert csp_violations(page) == [], path
        assert serious_axe_violations(page) == [], path
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert page.locator(".sira-feature meter").count() == 1
    page.click("#btn-apply")
    page.wait_for_url("**/ops/*")
    action_url = page.url
    context.close()
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    more = watch(page)
    sign_in(page, live_server.url, approver, next_url="/sira")
    page.goto(action_url)
    page.wait_for_load_state("load")
    assert page.locator("#sira-panel").is_visible()
    assert "Chargebacks tripled" in page.inner_text("#sira-panel")
    assert csp_violations(page) == [] and serious_axe_violations(page) == []
    context.close()
    assert problems == [] and more == [], (problems, more)
