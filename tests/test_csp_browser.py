# ruff: noqa: F811 - web_world is a fixture imported from the page tour
"""The Content-Security-Policy holds on every page in real Chromium: each role's pages, the
sign-in, password and error pages, Swagger UI and the Django admin load and work with zero
policy violations (no inline script or style, nothing from another origin)."""

import pytest

from accounts.choices import Role
from accounts.web.nav import pages_for
from tests.browser import sign_in, watch
from tests.factories import make_user
from tests.test_web_browser import DESKTOP, _path, web_world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every violation the page reports (the event fires for blocked inline code,
# blocked origins and refused eval alike), from the first script of each document on.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
                    + `at ${e.sourceFile}:${e.lineNumber} ${e.sample || ""}`);
});
"""


def _open(page, url, *, settle_ms=800):
    """Open `url`; returns the violations it reported and its policy header."""
    response = page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle_ms)  # charts, maps, htmx polling run after load
    return page.evaluate("window.__csp || []"), response.headers.get("content-security-policy")


def _context(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    return context, page


def _assert_policy(header, where):
    assert header, f"{where}: no Content-Security-Policy header"
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in header, (where, header)
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, (where, header)


@pytest.mark.parametrize("who", ["ops_admin", "finance_ops", "region", "merchant", "agent"])
def test_every_page_of_every_role_has_no_csp_violation(browser, live_server, web_world, who):
    user = web_world[who]
    context, page = _context(browser)
    problems = watch(page)
    violations, header = _open(page, f"{live_server.url}/login", settle_ms=100)
    _assert_policy(header, "login")
    assert violations == [], ("login", violations)
    sign_in(page, live_server.url, user)
    extra = ["password"] + (["ops/new"] if who in ("ops_admin", "region") else [])
    urls = [_path(e.url_name) for e in pages_for(user)] + extra
    for url in urls:
        violations, header = _open(page, f"{live_server.url}/{url}")
        _assert_policy(header, url)
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
    assert page.evaluate("window.__csp") == [], "overview interactions"
    context.close()
    assert problems == [], problems


def test_swagger_ui_works_under_the_policy(browser, live_server, web_world):
    context, page = _context(browser)
    problems = watch(page)
    sign_in(page, live_server.url, web_world["ops_admin"])
    violations, header = _open(page, f"{live_server.url}/api/docs/", settle_ms=100)
    _assert_policy(header, "api/docs")
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
        _assert_policy(header, url)
        assert violations == [], (url, violations)
    problems.clear()  # the 404 below is the point, not a problem
    violations, header = _open(page, f"{live_server.url}/no-such-page", settle_ms=100)
    _assert_policy(header, "404")
    assert violations == []
    context.close()
