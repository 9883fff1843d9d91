"""Web pages benchmark on the stack `make up` started (web on WEB_PORT, demo users and data).

    .venv/bin/python bench/web.py [--loads 10] [--sessions 20] [--duration 30]

1. In headless Chromium (Debian's, through Playwright), signed in as ops_admin:
   the time from navigation start until the Overview is drawn (KPI cards with their
   figures and sparklines; the figures alone are server-rendered, on screen at the
   first contentful paint, also reported) and until the agent map is drawn (clusters),
   `--loads` times each, with a cold cache (new browser context: what a first visit
   costs) and with a warm one (the same context again: every later visit); the
   median and p95 of each. And the JS+CSS each page transfers, compressed, on a cold load.
2. Server side: `--sessions` concurrent signed-in sessions of every demo role, each
   walking the pages its navigation offers (staff over many scopes and every period)
   for `--duration` seconds; p95 and requests/s per page. Every answer is checked:
   200, and the page names the scope it was asked for.

Targets (issue 10): drawn in under 1 s; under 500 KB of JS+CSS per page.
Last line: one JSON object.
"""

import argparse
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

CHROMIUM = "/usr/lib/chromium/chromium"
PERIODS = ["today", "24h", "7d", "30d"]
# Drawn: the page's own content is on screen (not just the HTML).
DRAWN = {
    "overview": "document.querySelectorAll('.kpi .kpi-value').length >= 4 && "
    "document.querySelectorAll('.kpi-spark canvas, .kpi-spark svg').length >= 1",
    "map": "document.querySelectorAll('.leaflet-marker-icon, path.leaflet-interactive').length > 0",
}


def fail(message):
    print(message, file=sys.stderr)
    print(json.dumps({"error": message}))
    sys.exit(2)


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 1)


def demo_users():
    from accounts.demo import DEMO_USERS

    return {u: (p, role, scope) for u, p, role, scope in DEMO_USERS}


class Session:
    """A signed-in browser-like session over one keep-alive connection (cookies by hand)."""

    def __init__(self, port, username, password):
        self.port, self.cookies = port, {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        status, body = self.get("/login")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, _ = self.request(
            "POST",
            "/login",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.url("/login")},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in of {username} failed (HTTP {status})")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def get(self, path):
        return self.request("GET", path)


def server_load(port, sessions, duration):
    """Concurrent sessions of every role walking their pages; latency per page kind."""
    import django

    django.setup()
    from django.urls import reverse

    from accounts.models import User
    from accounts.web.nav import pages_for
    from dashboard.selectors import known_scopes

    users = demo_users()
    names = [n for n in users if n != "sira"]
    staff_scopes = [s["value"] for s in known_scopes("", limit=200)]
    agent_scopes = [
        s for s in staff_scopes if s == "platform" or s.startswith(("region:", "agent:"))
    ]
    plans = []
    for i in range(sessions):
        name = names[i % len(names)]
        user = User.objects.get(username=name)
        paths = [reverse(p.url_name) for p in pages_for(user)]
        plans.append((name, users[name][0], users[name][2], paths))

    stats, errors, lock = {}, [], threading.Lock()
    stop_at = time.monotonic() + duration + 5

    def walk(name, password, own_scope, paths, seed):
        rng = random.Random(seed)
        try:
            session = Session(port, name, password)
        except Exception as exc:
            with lock:
                errors.append(f"{name}: {exc}")
            return
        started = time.monotonic()
        while time.monotonic() < min(stop_at, started + duration):
            path = rng.choice(paths)
            scope = own_scope
            if own_scope == "platform" and staff_scopes:
                # The agent pages know agents only: the platform, a country or an agent.
                pool = agent_scopes if path in ("/map", "/float") else staff_scopes
                scope = rng.choice(pool)
            query = {"scope": scope}
            if path == "/overview":
                query["period"] = rng.choice(PERIODS)
            t0 = time.perf_counter()
            status, body = session.get(f"{path}?{urlencode(query)}")
            ms = (time.perf_counter() - t0) * 1000
            ok = status == 200 and (path not in ("/overview", "/explore") or scope.encode() in body)
            with lock:
                stats.setdefault(path, []).append(ms)
                if not ok:
                    errors.append(f"{name} {path} {scope}: HTTP {status}")

    threads = [
        threading.Thread(target=walk, args=(*plan, i), daemon=True) for i, plan in enumerate(plans)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    pages = {
        path: {
            "requests": len(v),
            "rps": round(len(v) / elapsed, 1),
            "p50_ms": pct(v, 0.5),
            "p95_ms": pct(v, 0.95),
        }  # fmt: skip
        for path, v in sorted(stats.items())
    }
    return pages, errors


def browser_figures(port, loads):
    from playwright.sync_api import sync_playwright

    users = demo_users()
    base = f"http://127.0.0.1:{port}"
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )

        def signed_in_context():
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("#id_username", "ops_admin")
            page.fill("#id_password", users["ops_admin"][0])
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            return context, page

        def drawn_ms(page, url, condition, paints=None):
            page.goto(url, wait_until="commit")
            page.wait_for_function(condition, timeout=15000, polling="raf")
            drawn = page.evaluate("performance.now()")
            if paints is not None:  # first paint with content: the server-rendered figures
                paints.append(
                    page.evaluate(
                        "performance.getEntriesByName('first-contentful-paint')[0].startTime"
                    )
                )
            return drawn

        for name, path in (("overview", "/overview"), ("map", "/map")):
            cold, warm, sizes, fcp = [], [], [], []
            for _ in range(loads):
                context, page = signed_in_context()
                transferred = {"js": 0, "css": 0}

                def on_response(response, transferred=transferred):
                    kind = response.request.resource_type
                    if kind in ("script", "stylesheet"):
                        try:
                            size = response.request.sizes()["responseBodySize"]
                        except Exception:
                            size = 0
                        transferred["js" if kind == "script" else "css"] += size

                # A new context has an empty cache, but the sign-in page already fetched
                # the shared CSS/JS: measure the cold page in a fresh page after clearing it.
                page.close()
                cdp_page = context.new_page()
                session = context.new_cdp_session(cdp_page)
                session.send("Network.enable")
                session.send("Network.clearBrowserCache")
                cdp_page.on("response", on_response)
                cold.append(drawn_ms(cdp_page, base + path, DRAWN[name], fcp))
                sizes.append(transferred["js"] + transferred["css"])
                cdp_page.remove_listener("response", on_response)
                warm.append(drawn_ms(cdp_page, base + path, DRAWN[name]))
                context.close()
            out[name] = {
                "cold_first_paint_median_ms": round(statistics.median(fcp), 1),
                "cold_median_ms": round(statistics.median(cold), 1),
                "cold_p95_ms": pct(cold, 0.95),
                "warm_median_ms": round(statistics.median(warm), 1),
                "warm_p95_ms": pct(warm, 0.95),
                "js_css_kb_compressed": round(max(sizes) / 1024, 1),
            }
        browser.close()
    return out


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8800")))
    args = parser.parse_args()

    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
        conn.request("GET", "/api/dashboard/health")
        if conn.getresponse().status != 200:
            fail("the stack is not healthy: run `make up` first")
    except OSError:
        fail(f"no web server on 127.0.0.1:{args.port}: run `make up` first")

    drawn = browser_figures(args.port, args.loads)
    pages, errors = server_load(args.port, args.sessions, args.duration)
    for name, figures in drawn.items():
        print(f"{name:9} drawn cold median {figures['cold_median_ms']} ms (p95 "
              f"{figures['cold_p95_ms']}), warm median {figures['warm_median_ms']} ms, "
              f"JS+CSS {figures['js_css_kb_compressed']} KB", file=sys.stderr)  # fmt: skip
    for path, figures in pages.items():
        print(f"{path:12} {figures}", file=sys.stderr)
    result = {
        "drawn": drawn,
        "server": {"sessions": args.sessions, "duration_s": args.duration, "pages": pages},
        "errors": errors[:20],
        "error_count": len(errors),
        "targets_met": all(
            f["cold_median_ms"] < 1000 and f["js_css_kb_compressed"] < 500 for f in drawn.values()
        )
        and not errors,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
