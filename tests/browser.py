"""Helpers of the real-browser tests (headless Debian Chromium through pytest-playwright).

problems = watch(page)            # before the first goto
sign_in(page, live_server.url, user)
page.goto(...)
assert problems == []             # console errors, page errors, failed requests
assert serious_axe_violations(page) == []
"""

from pathlib import Path

from django.conf import settings

PASSWORD = "pw-test-1234"  # tests.factories.make_user's password
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "test-results" / "screenshots"


def watch(page):
    """A list that fills with every console error, uncaught page error and failed or 4xx/5xx
    request of `page` (404 of favicon included: a page must not ask for what is not there)."""
    problems = []
    page.on(
        "console",
        lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"failed: {r.method} {r.url} {r.failure}")
            if "/stream/events" not in r.url  # a live stream cut when the page closes
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"HTTP {r.status}: {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )
    return problems


def settle(page, *, quiet_polls=2, timeout_ms=5000):
    """Wait until the page has no request in flight (its live stream aside) for `quiet_polls`
    polls of 50 ms in a row: the fetches that fill charts, maps and tables have answered and
    their handlers have run. Installs its request tracking on first use."""
    pending = getattr(page, "_molam_pending", None)
    if pending is None:
        pending = page._molam_pending = set()
        page.on("request", lambda r: None if _LONG_LIVED in r.url else pending.add(r))
        page.on("requestfinished", lambda r: pending.discard(r))
        page.on("requestfailed", lambda r: pending.discard(r))
        page.wait_for_timeout(50)
    quiet, waited = 0, 0
    while quiet < quiet_polls and waited < timeout_ms:
        page.wait_for_timeout(50)
        waited += 50
        quiet = 0 if pending else quiet + 1


_LONG_LIVED = "/stream/events"


def sign_in(page, base_url, user, password=PASSWORD, *, next_url=""):
    """Sign in through the product's login page; returns after the redirect to home."""
    page.goto(f"{base_url}/login" + (f"?next={next_url}" if next_url else ""))
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def serious_axe_violations(page):
    """axe-core's serious and critical accessibility violations of the page as it is now."""
    # Contrast is judged on the page at rest: an element fading in (a map popup, a new
    # row's highlight) has a partial opacity that axe would count as low contrast.
    # Both go in without an inline <style>/<script> tag, which the pages' Content-Security-
    # Policy refuses: a constructed style sheet, and axe evaluated through the DevTools.
    page.evaluate(
        """() => { const s = new CSSStyleSheet();
        s.replaceSync("*, *::before, *::after { transition: none !important; "
                      + "animation: none !important; }");
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, s]; }"""
    )
    page.wait_for_timeout(50)
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name):
    """Keep a screenshot as a CI artifact (test-results/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# Records every Content-Security-Policy violation a page reports (blocked inline code,
# blocked origins and refused eval alike), from the first script of each document on:
# `context.add_init_script(RECORD_CSP_VIOLATIONS)`, then `csp_violations(page)`.
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
                    + `at ${e.sourceFile}:${e.lineNumber} ${e.sample || ""}`);
});
"""


def csp_violations(page):
    return page.evaluate("window.__csp || []")


def assert_strict_csp(header, where):
    """The policy of docs/security.md: nothing inline, nothing from another origin."""
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
