# ruff: noqa: F811 - web_world is a fixture imported from the page tour
"""The Content-Security-Policy holds in real Chromium beyond the page tour (which checks
each role's pages, tests/test_web_browser.py): the sign-in, password and request pages,
interactions, Swagger UI, the Django admin and error pages load and work with zero policy
violations (no inline script or style, nothing from another origin)."""

import pytest

from accounts.choices import Role
from tests.browser import (
    RECORD_CSP_VIOLATIONS,
    assert_strict_csp,
    csp_violations,
    sign_in,
    watch,
)
from tests.factories import make_user
from tests.test_web_browser import DESKTOP, web_world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open(page, url, *, settle_ms=800):
    """Open `url`; returns the violations it reported and its policy header."""
    response = page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle_ms)  # charts, maps, htmx polling run after load
    return csp_violations(page), response.headers.get("content-security-policy")


def _context(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    return context, page


def test_sign_in_password_and_request_pages_and_interactions_have_no_csp_violation(
    browser, live_server, web_world
):
    """Every page of every role is checked by the page tour (tests/test_web_browser.py);
    here the pages outside the navigation, and code that runs on interaction."""
    user = web_world["ops_admin"]
    context, page = _context(browser)
    problems = watch(page)
    violations, header = _open(page, f"{live_server.url}/login", settle_ms=100)
    assert_strict_csp(header, "login")
    assert violations == [], ("login", violations)
    sign_in(page, live_server.url, user)
    for url in ("password", "ops/new"):
        violations, header = _open(page, f"{live_server.url}/{url}")
        assert_strict_csp(header, url)
        assert violations == [], (url, violations)
    # The scope picker (htmx) and a chart's tooltip: code that runs on interaction.
    page.goto(f"{live_server.url}/overview")
    page.wait_for_load_state("networkidle")
    picker = page.locator("input[hx-get]")
    if picker.count():
        picker.first.fill("m")
        page.wait_for_timeout(600)
    chart = page.locator("canvas").first
    if chart.count():
        chart.hover()
        page.wait_for_timeout(200)
    assert csp_violations(page) == [], "overview interactions"
    context.close()
    assert problems == [], problems


def test_swagger_ui_works_under_the_policy(browser, live_server, web_world):
    context, page = _context(browser)
    problems = watch(page)
    sign_in(page, live_server.url, web_world["ops_admin"])
    violations, header = _open(page, f"{live_server.url}/api/docs/", settle_ms=100)
    assert_strict_csp(header, "api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    page.locator(".opblock-summary").first.click()  # an operation opens
    page.wait_for_timeout(300)
    assert page.locator(".opblock-body").count() >= 1
    assert page.evaluate("window.__csp") == []
    assert violations == []
    context.close()
    assert problems == [], problems


def test_admin_and_error_pages_have_no_csp_violation(browser, live_server, web_world):
    admin = make_user("csp_admin", Role.OPS_ADMIN)
    admin.is_superuser = True
    admin.save()
    context, page = _context(browser)
    problems = watch(page)
    sign_in(page, live_server.url, admin)
    for url in (
        "admin/",
        "admin/accounts/user/",
        f"admin/accounts/user/{admin.pk}/change/",
        "admin/accounts/user/add/",
        "admin/opsactions/opsaction/",
    ):
        violations, header = _open(page, f"{live_server.url}/{url}", settle_ms=200)
        assert_strict_csp(header, url)
        assert violations == [], (url, violations)
    problems.clear()  # the 404 below is the point, not a problem
    violations, header = _open(page, f"{live_server.url}/no-such-page", settle_ms=100)
    assert_strict_csp(header, "404")
    assert violations == []
    context.close()
