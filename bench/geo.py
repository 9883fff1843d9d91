"""Agent map benchmark: a million agents, nearby / nearest-k / clusters latency.

Runs against the DEV stack's PostgreSQL (`bash scripts/stack.sh up dev`), never
the test stack, in a database of its own (`molam_geo_bench`, created and
migrated on first use) unless `--database molam` names the dev database itself.
WARNING: it TRUNCATES the agents tables of that database (agents, float
history, sales history, cluster grid) and loads N synthetic agents by COPY, in
realistic clusters around West African cities plus a sparse rural background
(with `--database molam`, re-run `manage.py seed_demo` afterwards).

Measures, through the same selectors the API uses (agents.selectors):
  nearby within 2 km and 10 km (limit 50), nearest-10 (KNN), clusters at
  country / region / city / street zoom, individual agents at zoom 16;
and checks results against an independent computation: haversine in plain
Python over the generated coordinates (nearby, nearest-10) and a Python
aggregation of the generated agents per grid cell (cluster totals, exact
Decimal sums).

    .venv/bin/python bench/geo.py --agents 1000000
    .venv/bin/python bench/geo.py --agents 1000000 --reuse   # keep loaded data

Prints progress to stderr and ONE JSON object as its last stdout line. Exits
non-zero when the dev stack is not running or a correctness check fails.
"""

import argparse
import io
import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV_DB = "postgis://molam:molam@127.0.0.1:25432/molam"

# (city, country, currency, lat, lon, weight, spread in degrees)
CITIES = [
    ("Dakar", "SN", "XOF", 14.7167, -17.4677, 90, 0.06),
    ("Thiès", "SN", "XOF", 14.7910, -16.9256, 20, 0.04),
    ("Saint-Louis", "SN", "XOF", 16.0179, -16.4896, 10, 0.03),
    ("Touba", "SN", "XOF", 14.8500, -15.8833, 15, 0.04),
    ("Kaolack", "SN", "XOF", 14.1520, -16.0726, 10, 0.03),
    ("Ziguinchor", "SN", "XOF", 12.5681, -16.2719, 6, 0.03),
    ("Abidjan", "CI", "XOF", 5.3600, -4.0083, 110, 0.08),
    ("Bouaké", "CI", "XOF", 7.6906, -5.0301, 20, 0.04),
    ("Yamoussoukro", "CI", "XOF", 6.8276, -5.2893, 10, 0.03),
    ("San-Pédro", "CI", "XOF", 4.7485, -6.6363, 8, 0.03),
    ("Bamako", "ML", "XOF", 12.6392, -8.0029, 70, 0.07),
    ("Sikasso", "ML", "XOF", 11.3176, -5.6665, 10, 0.03),
    ("Ouagadougou", "BF", "XOF", 12.3714, -1.5197, 60, 0.06),
    ("Bobo-Dioulasso", "BF", "XOF", 11.1771, -4.2979, 15, 0.04),
    ("Cotonou", "BJ", "XOF", 6.3703, 2.3912, 45, 0.05),
    ("Porto-Novo", "BJ", "XOF", 6.4969, 2.6289, 10, 0.03),
    ("Lomé", "TG", "XOF", 6.1725, 1.2314, 40, 0.05),
    ("Niamey", "NE", "XOF", 13.5116, 2.1254, 35, 0.05),
    ("Conakry", "GN", "GNF", 9.6412, -13.5784, 40, 0.05),
    ("Banjul", "GM", "GMD", 13.4549, -16.5790, 10, 0.03),
]
RURAL_SHARE = 0.05  # agents spread uniformly over the region, not around a city
RURAL_BOX = (-17.5, 4.5, 3.5, 16.5)  # minLon, minLat, maxLon, maxLat
EARTH_RADIUS_M = 6371008.8
GRID = 0.1  # degrees; the independent checker's bucket size


def log(msg):
    print(f"[geo] {msg}", file=sys.stderr, flush=True)


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(times_ms):
    return {
        "n": len(times_ms),
        "p50_ms": round(pct(times_ms, 0.50), 3),
        "p95_ms": round(pct(times_ms, 0.95), 3),
        "p99_ms": round(pct(times_ms, 0.99), 3),
        "max_ms": round(max(times_ms), 3),
    }


def prepare_database(name):
    """Check the dev stack is up; create the bench's own database on it if missing.

    Returns the DATABASE_URL to run on. Exits 2 when the dev stack is down.
    """
    import psycopg

    # The bench loads (TRUNCATE, COPY) and migrates its database: the schema owner's
    # work (docs/database-roles.md), so it runs as the owner; the database itself is
    # created by the local cluster's superuser `postgres` (trust on 127.0.0.1).
    base = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL", DEV_DB)
    if ":25442/" in base:
        print("bench/geo.py refuses to run on the TEST stack (port 25442).", file=sys.stderr)
        sys.exit(2)
    dsn = base.replace("postgis://", "postgresql://", 1)
    owner = dsn.split("://", 1)[1].split(":", 1)[0]
    superuser = "postgresql://postgres@" + dsn.split("@", 1)[1]
    try:
        with psycopg.connect(superuser, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT postgis_lib_version()")
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
            conn.execute(f'GRANT CONNECT, TEMP ON DATABASE "{name}" TO PUBLIC')
    except Exception as exc:
        print(
            f"bench/geo.py: the DEV stack database is not reachable at {base} ({exc}).\n"
            "Start it with `bash scripts/stack.sh up dev` and migrate "
            '(`eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate`).',
            file=sys.stderr,
        )
        sys.exit(2)
    url = base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(superuser.rsplit("/", 1)[0] + "/" + name, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    os.environ.pop("DATABASE_OWNER_URL", None)  # already the owner
    return url


def generate(n, seed):
    """Synthetic agents: (agent_id, lat, lon, country, currency, balance, threshold, sales)."""
    rng = random.Random(seed)
    weights = [c[5] for c in CITIES]
    agents = []
    for i in range(n):
        if rng.random() < RURAL_SHARE:
            lon = rng.uniform(RURAL_BOX[0], RURAL_BOX[2])
            lat = rng.uniform(RURAL_BOX[1], RURAL_BOX[3])
            country, currency = "ZZ", "XOF"
        else:
            _name, country, currency, clat, clon, _w, spread = rng.choices(CITIES, weights)[0]
            lat = clat + rng.gauss(0, spread)
            lon = clon + rng.gauss(0, spread)
        lat, lon = round(lat, 6), round(lon, 6)
        balance = Decimal(rng.randrange(0, 4_000_000)) / 2  # exact, .0 or .5
        threshold = Decimal(100_000)
        sales = Decimal(rng.randrange(0, 2_000_000))
        agents.append((f"b_{i:07d}", lat, lon, country, currency, balance, threshold, sales))
    return agents


def load(agents):
    """TRUNCATE the agents tables and COPY the agents in; GiST index rebuilt after the load."""
    from django.db import connection

    now = datetime.now(UTC).isoformat()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'agents_agent' "
            "AND indexdef ILIKE '%%gist%%'"
        )
        gist = cur.fetchall()
        # Fail clearly instead of hanging behind another session's open transaction.
        cur.execute("SET lock_timeout = '15s'")
        cur.execute(
            "TRUNCATE agents_agentgridcell, agents_agentgridstate, agents_agentfloathour, "
            "agents_agentsaleshour, agents_agent"
        )
        for name, _ in gist:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        raw = cur.cursor  # psycopg 3 cursor under Django's wrapper
        t0 = time.monotonic()
        with raw.copy(
            "COPY agents_agent (agent_id, location, country, region, city, status, currency, "
            "float_balance, float_updated_at, float_event_id, location_event_id, "
            "low_float_threshold, last_seen_at, sales_24h, created_at) FROM STDIN"
        ) as copy:
            buf = io.StringIO()
            for k, (aid, lat, lon, country, currency, bal, thr, sales) in enumerate(agents):
                buf.write(
                    f"{aid}\tSRID=4326;POINT({lon!r} {lat!r})\t{country}\t\t\tactive\t"
                    f"{currency}\t{bal}\t{now}\tbench\t\t{thr}\t{now}\t{sales}\t{now}\n"
                )
                if k % 50_000 == 49_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        # One hourly sales row per agent (current hour) so that the periodic
        # sales_24h ageing keeps the synthetic figures instead of zeroing them.
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
        with raw.copy(
            "COPY agents_agentsaleshour (agent_id, bucket, currency, cash_in_amount, "
            "cash_out_amount) FROM STDIN"
        ) as copy:
            buf = io.StringIO()
            for k, (aid, _lat, _lon, _c, currency, _b, _t, sales) in enumerate(agents):
                buf.write(f"{aid}\t{hour}\t{currency}\t{sales}\t0\n")
                if k % 50_000 == 49_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        copy_s = time.monotonic() - t0
        t0 = time.monotonic()
        for _name, indexdef in gist:
            cur.execute(indexdef)
        cur.execute("ANALYZE agents_agent")
        index_s = time.monotonic() - t0
    return {"copy_s": round(copy_s, 1), "gist_index_s": round(index_s, 1)}


class Checker:
    """Independent answers from the generated coordinates (plain Python, no PostGIS)."""

    def __init__(self, agents):
        self.agents = agents
        self.buckets = defaultdict(list)
        for idx, a in enumerate(agents):
            self.buckets[(math.floor(a[1] / GRID), math.floor(a[2] / GRID))].append(idx)

    def _around(self, lat, lon, rings):
        bi, bj = math.floor(lat / GRID), math.floor(lon / GRID)
        for di in range(-rings, rings + 1):
            for dj in range(-rings, rings + 1):
                yield from self.buckets.get((bi + di, bj + dj), ())

    def within(self, lat, lon, radius_m):
        # 0.1 deg >= 10.6 km in latitude and >= 10.2 km in longitude below 16.6 deg:
        # one ring of buckets holds every agent within 10 km (two for safety).
        out = []
        for idx in self._around(lat, lon, 2):
            a = self.agents[idx]
            d = haversine_m(lat, lon, a[1], a[2])
            if d <= radius_m:
                out.append((d, a[0]))
        return sorted(out)

    def nearest(self, lat, lon, k):
        for rings in (1, 2, 4, 8, 16, 64):
            cand = sorted(
                (haversine_m(lat, lon, self.agents[i][1], self.agents[i][2]), self.agents[i][0])
                for i in self._around(lat, lon, rings)
            )
            # Everything closer than `rings` buckets away was scanned.
            if len(cand) >= k and cand[k - 1][0] < rings * GRID * 100_000:
                return cand[:k]
        return sorted((haversine_m(lat, lon, a[1], a[2]), a[0]) for a in self.agents)[:k]

    def clusters(self, bbox, size):
        min_lon, min_lat, max_lon, max_lat = bbox
        cx0, cx1 = math.floor((min_lon + 180.0) / size), math.floor((max_lon + 180.0) / size)
        cy0, cy1 = math.floor((min_lat + 90.0) / size), math.floor((max_lat + 90.0) / size)
        cells = {}
        for a in self.agents:
            cx, cy = math.floor((a[2] + 180.0) / size), math.floor((a[1] + 90.0) / size)
            if cx0 <= cx <= cx1 and cy0 <= cy <= cy1:
                c = cells.setdefault((cx, cy), [0, Decimal(0), 0])
                c[0] += 1
                c[1] += a[5]
                c[2] += a[5] < a[6]
        return cells


def same_nearby(got, expected, radius_m=None):
    """Same agents in the same order with the same distances (0.01 m); ties and
    points within 1 cm of the radius may legitimately differ in floating point."""
    got_pairs = [(a.distance_m, a.agent_id) for a in got]
    if radius_m is not None:
        got_pairs = [p for p in got_pairs if abs(p[0] - radius_m) > 0.01]
        expected = [p for p in expected if abs(p[0] - radius_m) > 0.01]
    if len(got_pairs) != len(expected):
        return False
    for (dg, ig), (de, ie) in zip(got_pairs, expected, strict=True):
        if abs(dg - de) > 0.01:
            return False
        if ig != ie and abs(dg - de) > 1e-6:
            return False
    return True


def query_points(rng, n):
    weights = [c[5] for c in CITIES]
    out = []
    for _ in range(n):
        _name, _c, _cur, lat, lon, _w, spread = rng.choices(CITIES, weights)[0]
        out.append((lat + rng.gauss(0, spread), lon + rng.gauss(0, spread)))
    return out


def timed(fn, repeat_points):
    times = []
    results = []
    for args in repeat_points:
        t0 = time.perf_counter()
        res = fn(*args)
        times.append((time.perf_counter() - t0) * 1000)
        results.append(res)
    return times, results


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400, help="timed queries per kind")
    parser.add_argument("--checks", type=int, default=40, help="queries verified per kind")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--database",
        default="molam_geo_bench",
        help="database on the dev stack's PostgreSQL (created if missing; its agents tables "
        "are TRUNCATED). Default: a database of its own, so that the dev consumer and "
        "other benchmarks writing agents cannot disturb the checks; `--database molam` "
        "loads into the dev stack's own database instead (and truncates its agents).",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the load when the database already holds the same generated agents",
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = prepare_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Measure what production runs: no per-query debug recording.
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "agents", verbosity=0)

    from agents.models import Agent
    from agents.selectors import (
        INDIVIDUAL_ZOOM,
        AgentVisibility,
        BBox,
        agent_clusters,
        agents_nearby,
    )
    from agents.services import agent_map_grid_rebuild, agent_sales_24h_refresh

    result = {
        "bench": "geo",
        "agents": args.agents,
        "stack": "dev",
        "database": args.database,
        "cores": os.cpu_count(),
    }
    t0 = time.monotonic()
    agents = generate(args.agents, args.seed)
    result["generate_s"] = round(time.monotonic() - t0, 1)
    log(f"generated {len(agents)} agents in {result['generate_s']} s")

    reuse = (
        args.reuse
        and Agent.objects.filter(agent_id__startswith="b_").count() == args.agents
        and Agent.objects.filter(agent_id=agents[-1][0]).exists()
    )
    if not reuse:
        log("TRUNCATE agents tables and COPY ...")
        from django.db import OperationalError

        try:
            result["load"] = load(agents)
        except OperationalError as exc:
            print(
                f"bench/geo.py: could not TRUNCATE/COPY the agents tables ({exc}); another "
                "session holds a lock on them (dev consumer or an open transaction). "
                "Stop it or retry.",
                file=sys.stderr,
            )
            return 3
        log(f"loaded: {result['load']}")
    else:
        result["load"] = "reused"
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE agents_agent")
        cur.execute("VACUUM ANALYZE agents_agentsaleshour")

    t0 = time.monotonic()
    agent_sales_24h_refresh(full=True)
    result["sales_24h_full_refresh_ms"] = int((time.monotonic() - t0) * 1000)
    log(f"sales_24h full recompute over all agents: {result['sales_24h_full_refresh_ms']} ms")
    t0 = time.monotonic()
    count, grid_ms = agent_map_grid_rebuild()
    result["grid_rebuild_ms"] = int((time.monotonic() - t0) * 1000)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM agents_agentgridcell")
        result["grid_rows"] = cur.fetchone()[0]
        cur.execute("VACUUM ANALYZE agents_agentgridcell")
    log(f"grid rebuilt: {count} agents, {result['grid_rows']} cells, {grid_ms} ms")

    rng = random.Random(args.seed + 1)
    everyone = AgentVisibility()
    # The dev stack is shared: its consumer and seed_demo may add agents of
    # their own next to the synthetic ones; the checker must know them too.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT agent_id, ST_Y(location::geometry), ST_X(location::geometry), country, "
            "currency, float_balance, low_float_threshold, sales_24h FROM agents_agent "
            "WHERE location IS NOT NULL AND agent_id NOT LIKE 'b\\_%%'"
        )
        extra = [tuple(row) for row in cur.fetchall()]
    result["other_agents_in_db"] = len(extra)
    checker = Checker(agents + extra)
    q = args.queries
    # Warm-up (connection, plan caches, shared buffers) is not timed.
    for lat, lon in query_points(rng, 50):
        agents_nearby(lat=lat, lon=lon, radius_m=10_000, limit=50)
        agents_nearby(lat=lat, lon=lon, limit=10)

    latency = {}
    failures = []

    def run_nearby(name, radius, limit, country=None, checks=args.checks):
        pts = query_points(rng, q)
        filters = {"country": country} if country else None
        times, res = timed(
            lambda la, lo: agents_nearby(
                lat=la, lon=lo, radius_m=radius, limit=limit, filters=filters
            ),
            pts,
        )
        latency[name] = summary(times)
        latency[name]["mean_rows"] = round(sum(len(r) for r in res) / len(res), 1)
        checked = 0
        for (lat, lon), got in list(zip(pts, res, strict=True))[:checks]:
            if country:
                expected = sorted(
                    (haversine_m(lat, lon, a[1], a[2]), a[0])
                    for a in checker.agents
                    if a[3] == country
                )[:limit]
                ok = same_nearby(got, expected)
            elif radius is None:
                expected = checker.nearest(lat, lon, limit)
                ok = same_nearby(got, expected)
            else:
                expected = checker.within(lat, lon, radius)[:limit]
                # With more than `limit` agents in range, compare the first `limit`.
                ok = same_nearby(got, expected, radius)
            checked += 1
            if not ok:
                failures.append({"kind": name, "lat": lat, "lon": lon})
        latency[name]["checked"] = checked
        log(f"{name}: {latency[name]}")

    run_nearby("nearby_2km", 2_000, 50)
    run_nearby("nearby_10km", 10_000, 50)
    run_nearby("nearest_10", None, 10)
    # A region:CI user asking around the (mostly other countries') query points:
    # the country is an index condition, not a filter walking other countries.
    run_nearby("nearest_10_region_ci_user", None, 10, country="CI", checks=5)

    # Viewports: (name, zoom, half-width in degrees around a query point).
    views = [
        ("clusters_west_africa_z4", 4, (11.0, 7.0)),
        ("clusters_country_z6", 6, (3.5, 2.2)),
        ("clusters_region_z8", 8, (0.9, 0.55)),
        ("clusters_city_z11", 11, (0.11, 0.07)),
        ("clusters_street_z14", 14, (0.014, 0.009)),
        ("agents_individual_z16", INDIVIDUAL_ZOOM + 1, (0.0035, 0.0022)),
    ]
    for name, zoom, (hw, hh) in views:
        pts = query_points(rng, q)
        boxes = [
            BBox(max(-180, lon - hw), max(-90, lat - hh), min(180, lon + hw), min(90, lat + hh))
            for lat, lon in pts
        ]
        times, res = timed(
            lambda b, z=zoom: agent_clusters(bbox=b, zoom=z, visibility=everyone),
            [(b,) for b in boxes],
        )
        latency[name] = summary(times)
        latency[name]["mean_features"] = round(
            sum(len(r.get("clusters", r.get("agents", []))) for r in res) / len(res), 1
        )
        latency[name]["max_features"] = max(
            len(r.get("clusters", r.get("agents", []))) for r in res
        )
        checks = 0
        for box, got in list(zip(boxes, res, strict=True))[: max(3, args.checks // 8)]:
            if got["kind"] == "agents":
                checks += 1
                inside = {
                    a[0]
                    for a in checker.agents
                    if box.min_lon <= a[2] <= box.max_lon and box.min_lat <= a[1] <= box.max_lat
                }
                if {a.agent_id for a in got["agents"]} != inside:
                    failures.append(
                        {"kind": name, "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat]}
                    )
                continue
            expected = checker.clusters(
                (box.min_lon, box.min_lat, box.max_lon, box.max_lat), got["cell_deg"]
            )
            actual = {
                tuple(c["cell"]): [
                    c["count"],
                    sum(c["float"].values(), Decimal(0)),
                    c["low_float_count"],
                ]
                for c in got["clusters"]
            }
            checks += 1
            if actual != expected:
                failures.append(
                    {"kind": name, "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat]}
                )
        latency[name]["checked"] = checks
        log(f"{name}: {latency[name]}")

    # Ingestion side, after the checks: one batch of
    # 5000 float updates (half with a new position) and 5000 sales rows on
    # existing agents, each in one transaction as the consumer runs them.
    from django.db import transaction

    from agents.services import (
        FloatColumns,
        SalesColumns,
        agent_floats_apply,
        agent_sales_apply,
    )

    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    batch_times = {"floats": [], "sales": []}
    for run in range(5):
        picks = rng.sample(agents, 5000)
        updates = FloatColumns.of(
            {
                "agent_id": a[0],
                # Same balance and position as generated, so that a later
                # --reuse run still checks against the generated agents.
                "balance": a[5],
                "currency": a[4],
                "occurred_at": now,
                "country": a[3],
                "region": "",
                "city": "",
                "lat": a[1] if k % 2 else None,
                "lon": a[2] if k % 2 else None,
                "event_id": f"bench-{run}-{k}",
            }
            for k, a in enumerate(picks)
        )
        sales = SalesColumns.of(
            {
                "agent_id": a[0],
                "bucket": hour,
                "currency": a[4],
                "cash_in_amount": Decimal(1000),
                "cash_out_amount": Decimal(500),
                "last_seen": now,
                "country": a[3],
            }
            for a in picks
        )
        t0 = time.perf_counter()
        with transaction.atomic():
            agent_floats_apply(updates)
        batch_times["floats"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with transaction.atomic():
            agent_sales_apply(sales)
        batch_times["sales"].append((time.perf_counter() - t0) * 1000)
    result["ingest_batch_5000"] = {
        "floats_apply_ms_median": round(sorted(batch_times["floats"])[2], 1),
        "sales_apply_ms_median": round(sorted(batch_times["sales"])[2], 1),
    }
    log(f"ingest batches: {result['ingest_batch_5000']}")

    result["latency"] = latency
    result["targets"] = {"nearby_and_nearest_p95_ms": 3, "clusters_p95_ms": 50}
    # The target covers nearby and nearest-10; the region-user case is reported
    # beside it (a far country: 0.4-6 ms depending on the distance to it).
    nearby_ok = all(latency[k]["p95_ms"] < 3 for k in ("nearby_2km", "nearby_10km", "nearest_10"))
    clusters_ok = all(latency[v[0]]["p95_ms"] < 50 for v in views)
    result["meets_targets"] = nearby_ok and clusters_ok
    result["correctness_failures"] = failures
    result["correct"] = not failures
    result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, default=str))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
