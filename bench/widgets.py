"""Widget data benchmark on the DEV stack: p95 of GET /api/dashboard/widgets/{id}/data per type.

    bash scripts/stack.sh up dev && eval "$(bash scripts/stack.sh env dev)"
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/widgets.py --rows 10000000 --agents 1000000

Data: the aggregate rows of bench/timeseries.py (COPY, region='bench', reused when already
there) and the synthetic agents of bench/geo.py (WARNING: that TRUNCATES the agents tables
of the dev database; reused when enough `b_` agents are there), the map grid rebuilt and
the snapshots of the scopes used refreshed. Then many users of every kind (staff, merchants,
banks, countries, agents) each get a widget of every type their scope can show, and every
request goes through the whole Django stack in-process (middleware, session sign-in, DRF,
the view): no network, one process.

Per type: `cold` = the first read of each widget after its scope's refresh (cache miss:
the mirrored endpoint's own query), `warm` = the reads that follow (what every viewer gets
until the next refresh). Answers are checked: each widget's data against the endpoint it
mirrors, called through the same client (time series incl. previous period, overview
figure and top list, agent clusters). Last stdout line: one JSON object.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")

import geo as geo_bench  # noqa: E402  (bench/geo.py: agent generator and loader)
import timeseries as ts_bench  # noqa: E402  (bench/timeseries.py: aggregate rows)

PASSWORD = "bench-widgets-1234"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_aggregates(rows, end):
    from django.db import connection

    from dashboard.snapshots.refresh import rollups_rebuild

    hot, approx = ts_bench.bench_rows()
    if hot >= 24 * 360 and approx >= 0.9 * rows:
        log(f"reusing the aggregate rows already loaded (~{approx:,})")
        return None
    log(f"filling {rows:,} aggregate rows by COPY ...")
    written, seconds = ts_bench.fill(rows, end)
    t = time.monotonic()
    rollups_rebuild(since=end - timedelta(days=366), until=end)
    with connection.cursor() as cur:
        cur.execute("ANALYZE dashboard_scope_hourly")
        cur.execute("ANALYZE dashboard_scope_daily")
    return {"rows_written": written, "copy_s": round(seconds, 1),
            "rollup_rebuild_s": round(time.monotonic() - t, 1)}  # fmt: skip


def ensure_agents(n):
    from agents.models import Agent
    from agents.services import agent_map_grid_rebuild

    have = Agent.objects.filter(agent_id__startswith="b_").count()
    if have >= n:
        log(f"reusing the {have:,} bench agents already loaded")
        return None
    from common import dbroles

    log(f"loading {n:,} agents (TRUNCATES the agents tables) ...")
    with dbroles.as_owner():  # TRUNCATE and the index rebuild are the schema owner's
        loaded = geo_bench.load(geo_bench.generate(n, 1042))
    t = time.monotonic()
    agent_map_grid_rebuild()
    loaded["grid_rebuild_s"] = round(time.monotonic() - t, 1)
    return loaded


def users_and_scopes(n_merchants, n_banks, n_agents):
    from accounts.choices import Role
    from accounts.services import user_create

    people = [("bw_staff", Role.OPS_ADMIN, "platform"),
              ("bw_region_sn", Role.OPS_ADMIN, "region:SN"),
              ("bw_region_ci", Role.OPS_ADMIN, "region:CI")]  # fmt: skip
    people += [
        (f"bw_m{i}", Role.MERCHANT_ADMIN, f"merchant:bm_{i:05d}") for i in range(n_merchants)
    ]
    people += [(f"bw_b{i}", Role.FINANCE_OPS, f"bank:bb_{i:03d}") for i in range(n_banks)]
    people += [(f"bw_a{i}", Role.AGENT, f"agent:b_{i * 997:07d}") for i in range(n_agents)]
    out = []
    for username, role, scope in people:
        user = user_create(username=username, password=PASSWORD, role=role, scope=scope,
                           update=True)  # fmt: skip
        out.append((user, scope))
    return out


# One widget per type a scope can show; configs as a user would set them.
def configs_for(kind):
    from dashboard.widgets.schemas import type_allowed

    out = [
        ("chart_line", {"metric": "gmv", "currency": "XOF", "period": "7d", "granularity": "hour",
                        "compare_previous": True}),
        ("chart_bar", {"metric": "attempts", "period": "30d", "granularity": "day"}),
        ("gauge", {"figure": "success_rate", "period": "24h", "min": 0, "max": 1,
                   "warning": 0.9, "critical": 0.8}),
        ("table", {"entity": "merchants" if kind in ("platform", "bank") else "countries",
                   "period": "7d"}),
        ("list", {"source": "transactions", "limit": 10}),
        ("map", {"bbox": [-18.0, 4.0, 16.0, 25.0], "zoom": 5, "markers": "float"}),
        ("alert_list", {"limit": 10}),
    ]  # fmt: skip
    return [(t, c) for t, c in out if type_allowed(t, kind)]


def p(samples, q):
    s = sorted(samples)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 3) if s else None


def check(client, widget_type, config, scope_text, data):
    """None when the widget's data equals the endpoint it mirrors, else a description."""
    if widget_type in ("chart_line", "chart_bar"):
        params = {
            "scope": scope_text,
            "granularity": data["granularity"],
            "from": data["from"],
            "to": data["to"],
            **({"currency": data["currency"]} if data["currency"] else {}),
        }
        url = f"/api/dashboard/metrics/{config['metric']}/timeseries"
        if client.get(url, params).json()["points"] != data["points"]:
            return "points differ from the time series"
        if data["previous"] is not None:
            prev = client.get(url, {**params, "from": data["previous"]["from"],
                                    "to": data["previous"]["to"]}).json()  # fmt: skip
            if prev["points"] != data["previous"]["points"]:
                return "previous points differ from the time series"
    elif widget_type in ("gauge", "table"):
        ov = client.get(
            "/api/dashboard/overview", {"scope": scope_text, "period": config["period"]}
        ).json()
        if widget_type == "gauge" and ov["rates"][config["figure"]] != data["value"]:
            return "gauge differs from the overview"
        if widget_type == "table":
            key = "top_merchants" if config["entity"] == "merchants" else "top_countries"
            if ov[key][:10] != data["rows"]:
                return "table differs from the overview's top list"
    elif widget_type == "map":
        bbox = ",".join(str(v) for v in config["bbox"])
        api = client.get(
            "/api/dashboard/agents/clusters", {"bbox": bbox, "zoom": config["zoom"]}
        ).json()
        body = {k: v for k, v in data.items() if k != "markers"}
        if api != body:
            return "map differs from the clusters endpoint"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=40, help="merchant users (scopes)")
    parser.add_argument("--banks", type=int, default=10)
    parser.add_argument("--agent-users", type=int, default=20)
    parser.add_argument("--warm", type=int, default=20, help="warm reads per widget")
    args = parser.parse_args()

    import django

    django.setup()
    ts_bench.check_dev_stack()
    from django.test import Client

    from accounts.scope import Scope
    from dashboard.models import Widget
    from dashboard.snapshots.refresh import snapshot_refresh_scope
    from dashboard.widgets.services import widget_create

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    loaded = {"aggregates": ensure_aggregates(args.rows, end), "agents": ensure_agents(args.agents)}
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname LIKE "
                    "'dashboard_hourly_aggregate_p%' AND relkind = 'r'")  # fmt: skip
        aggregate_rows = sum(r[0] for r in cur.fetchall() if r[0] > 0)
        cur.execute("SELECT count(*) FROM agents_agent")
        agent_count = cur.fetchone()[0]

    people = users_and_scopes(args.merchants, args.banks, args.agent_users)
    scopes = sorted({s for _u, s in people})
    log(f"refreshing the snapshots of {len(scopes)} scopes ...")
    t = time.monotonic()
    for s in scopes:
        snapshot_refresh_scope(scope=Scope.parse(s), wait=True)
    refresh_s = round(time.monotonic() - t, 1)

    Widget.objects.filter(owner__username__startswith="bw_").delete()
    plan = []  # (user, scope text, widget)
    for user, scope_text in people:
        scope = Scope.parse(scope_text)
        for widget_type, config in configs_for(scope.kind):
            w = widget_create(actor=user, scope=scope, type=widget_type, title=widget_type,
                              config=config, position={"x": 0, "y": 0, "w": 4, "h": 3})  # fmt: skip
            plan.append((user, scope_text, w))
    log(f"{len(people)} users, {len(plan)} widgets")

    clients = {}
    for user, _s in people:
        c = Client()
        c.force_login(user)
        clients[user.pk] = c
    cold, warm, mismatches = {}, {}, []
    rng = random.Random(5)
    order = plan[:]
    rng.shuffle(order)
    for user, scope_text, w in order:  # first reads: every cache empty for these widgets
        c = clients[user.pk]
        t = time.perf_counter()
        r = c.get(f"/api/dashboard/widgets/{w.pk}/data")
        cold.setdefault(w.type, []).append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            mismatches.append(f"{w.type} {scope_text}: HTTP {r.status_code}")
            continue
        problem = check(c, w.type, w.config, scope_text, r.json())
        if problem:
            mismatches.append(f"{w.type} {scope_text}: {problem}")
    for _ in range(args.warm):
        rng.shuffle(order)
        for user, _scope_text, w in order:
            t = time.perf_counter()
            r = clients[user.pk].get(f"/api/dashboard/widgets/{w.pk}/data")
            warm.setdefault(w.type, []).append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.content[:200]

    per_type = {
        t: {"widgets": len(cold[t]), "cold_p50_ms": p(cold[t], 0.5),
            "cold_p95_ms": p(cold[t], 0.95),
            "warm_p50_ms": p(warm[t], 0.5), "warm_p95_ms": p(warm[t], 0.95),
            "warm_reads": len(warm[t])}
        for t in sorted(cold)
    }  # fmt: skip
    result = {
        "aggregate_rows": aggregate_rows,
        "agents": agent_count,
        "users": len(people),
        "scopes": len(scopes),
        "widgets": len(plan),
        **({"load": loaded} if any(loaded.values()) else {}),
        "snapshot_refresh_s": refresh_s,
        "per_type": per_type,
        "warm_p95_ms_max": max(v["warm_p95_ms"] for v in per_type.values()),
        "cold_p95_ms_max": max(v["cold_p95_ms"] for v in per_type.values()),
        "target_ms": 20,
        "answers_checked": len(plan),
        "mismatches": mismatches[:20],
        "ok": not mismatches and all(v["warm_p95_ms"] < 20 for v in per_type.values()),
    }
    Widget.objects.filter(owner__username__startswith="bw_").delete()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
