"""Time-series benchmark on the DEV stack: 10M aggregate rows, p95 of three chart queries.

    eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate
    .venv/bin/python bench/timeseries.py --rows 10000000

Fills dashboard_hourly_aggregate with realistic rows by COPY (a year of hours,
thousands of merchants, banks, agents, platform geography; every bench row has
region='bench' so `--clean` can remove them), rebuilds the rollups the refresh
task maintains, then times the time-series service (SQL + zero fill + JSON
document, what the view returns) for: one merchant over 30 days hourly, the
platform over 7 days hourly, the platform over 365 days daily. A second run
reuses the rows already there. Last line: one JSON object.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production-like: with DEBUG on, Django also records every query it runs.
os.environ.setdefault("DEBUG", "false")

COUNTRIES = {  # country -> (currency, cities)
    "SN": ("XOF", ["Dakar", "Thies", "Saint-Louis"]),
    "CI": ("XOF", ["Abidjan", "Bouake"]),
    "ML": ("XOF", ["Bamako"]),
    "BF": ("XOF", ["Ouagadougou"]),
    "GH": ("GHS", ["Accra", "Kumasi"]),
    "NG": ("NGN", ["Lagos", "Abuja"]),
    "FR": ("EUR", ["Paris"]),
}
CUTS = [(cc, city, cur) for cc, (cur, cities) in COUNTRIES.items() for city in cities]
N_MERCHANTS, N_HOT, N_BANKS, N_AGENTS = 5000, 100, 20, 3000


def fail(message):
    print(message, file=sys.stderr)
    print(json.dumps({"error": message}))
    sys.exit(2)


def check_dev_stack():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
            dbname=db["NAME"], connect_timeout=3,
        ).close()  # fmt: skip
    except psycopg.OperationalError as exc:
        fail(
            f"dev database not reachable at {db['HOST']}:{db['PORT']} ({exc.__class__.__name__}): "
            'start it with `bash scripts/stack.sh up dev` and `eval "$(bash scripts/stack.sh env '
            'dev)"`, then `.venv/bin/python manage.py migrate`'
        )


def figures(rng, scale):
    attempts = max(1, int(rng.expovariate(1 / scale)))
    success = int(attempts * rng.uniform(0.75, 0.95))
    failed = attempts - success
    ticket = rng.choice((2500, 5000, 15000, 40000))
    gmv = success * ticket
    fees = gmv * 15 // 1000
    fraud = ticket if rng.random() < 0.02 else 0
    return (
        f"{attempts}\t{success}\t{failed}\t{int(rng.random() < 0.05)}\t0\t"
        f"{int(rng.random() < 0.1)}\t0\t{int(fraud > 0)}\t{gmv}\t{fees}\t{fees * 7 // 10}.5\t"
        f"0\t0\t{gmv // 2 if rng.random() < 0.1 else 0}\t{fraud}\t0\t0"
    )


def rows_for_hour(rng, bucket, merchant_rows):
    """Text COPY lines of one hour: platform, banks, agents, hot and random merchants."""
    b = bucket.isoformat()
    out = []
    for cc, city, cur in CUTS:
        for source in ("connect", "wallet"):
            out.append(f"platform\t\t{b}\t{cc}\tbench\t{city}\t{cur}\t{source}\t{figures(rng, 80)}")
    for i in range(N_BANKS):
        cc, city, cur = CUTS[i % len(CUTS)]
        out.append(
            f"bank\tbb_{i:03d}\t{b}\t{cc}\tbench\t{city}\t{cur}\tconnect\t{figures(rng, 30)}"
        )
    for i in rng.sample(range(N_AGENTS), 40):
        cc, city, cur = CUTS[i % len(CUTS)]
        out.append(f"agent\tba_{i:05d}\t{b}\t{cc}\tbench\t{city}\t{cur}\twallet\t{figures(rng, 3)}")
    for i in range(N_HOT):
        cc, city, cur = CUTS[i % len(CUTS)]
        out.append(
            f"merchant\tbm_{i:05d}\t{b}\t{cc}\tbench\t{city}\t{cur}\tconnect\t{figures(rng, 20)}"
        )
        out.append(
            f"merchant\tbm_{i:05d}\t{b}\t{cc}\tbench\t{city}\t{cur}\twallet\t{figures(rng, 5)}"
        )
    for i in rng.sample(range(N_HOT, N_MERCHANTS), merchant_rows):
        cc, city, cur = CUTS[i % len(CUTS)]
        out.append(
            f"merchant\tbm_{i:05d}\t{b}\t{cc}\tbench\t{city}\t{cur}\tconnect\t{figures(rng, 4)}"
        )
    return out


def fill(total_rows, end):
    from django.db import connection

    from dashboard.snapshots.sql import FIGURES

    hours = 24 * 365
    fixed = len(CUTS) * 2 + N_BANKS + 40 + 2 * N_HOT
    per_hour_random = max(0, min(N_MERCHANTS - N_HOT, total_rows // hours - fixed))
    start = end - timedelta(hours=hours)
    rng = random.Random(1042)
    clock = random.Random(7)  # last_event_at: its own generator, the figures stay as they were
    cols = "scope_kind, scope_id, bucket, country, region, city, currency, source, " + ", ".join(
        FIGURES
    )
    cols += ", last_event_at"
    written = 0
    t0 = time.monotonic()
    with connection.cursor() as cur:
        raw = cur.cursor  # psycopg cursor: COPY is the fastest bulk load
        with raw.copy(f"COPY dashboard_hourly_aggregate ({cols}) FROM STDIN") as copy:
            for h in range(hours):
                bucket = start + timedelta(hours=h)
                lines = rows_for_hour(rng, bucket, per_hour_random)
                # Newest event time of each row: somewhere in its hour.
                lines = [
                    f"{line}\t{(bucket + timedelta(seconds=clock.randrange(3600))).isoformat()}"
                    for line in lines
                ]
                copy.write("\n".join(lines) + "\n")
                written += len(lines)
                if h % 1000 == 0:
                    print(f"  {written:>10,} rows, {time.monotonic() - t0:.0f} s", file=sys.stderr)
        cur.execute("ANALYZE dashboard_hourly_aggregate")
    return written, time.monotonic() - t0


def bench_rows():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM dashboard_hourly_aggregate WHERE scope_kind = 'merchant' "
            "AND scope_id = 'bm_00007'"
        )
        hot = cur.fetchone()[0]
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname LIKE "
                    "'dashboard_hourly_aggregate_p%' AND relkind = 'r'")  # fmt: skip
        approx = sum(r[0] for r in cur.fetchall() if r[0] > 0)
    return hot, approx


def p95(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def time_case(params, metric, scope_text, n):
    from accounts.scope import Scope
    from dashboard.snapshots.timeseries import parse_series_query, series_payload

    scope = Scope.parse(scope_text)
    q = parse_series_query(metric=metric, scope=scope, params=params)
    for _ in range(5):
        series_payload(q)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        doc = series_payload(q)
        samples.append((time.perf_counter() - t) * 1000)
    return {
        "p50_ms": round(sorted(samples)[len(samples) // 2], 3),
        "p95_ms": round(p95(samples), 3),
        "points": len(doc["points"]),
        "nonzero": sum(1 for p in doc["points"] if p["value"] not in ("0", 0)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--clean", action="store_true", help="delete the bench rows and exit")
    args = parser.parse_args()

    import django

    django.setup()
    check_dev_stack()
    from django.db import connection

    from dashboard.snapshots.refresh import rollups_rebuild

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if args.clean:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM dashboard_hourly_aggregate WHERE region = 'bench'")
        rollups_rebuild(since=end - timedelta(days=400), until=end)
        print(json.dumps({"cleaned": True}))
        return
    hot, approx = bench_rows()
    loaded = None
    if hot < 24 * 360 or approx < 0.9 * args.rows:
        print(f"filling {args.rows:,} rows by COPY ...", file=sys.stderr)
        written, seconds = fill(args.rows, end)
        loaded = {"rows_written": written, "copy_s": round(seconds, 1)}
        t = time.monotonic()
        rollups_rebuild(since=end - timedelta(days=366), until=end)
        with connection.cursor() as cur:
            cur.execute("ANALYZE dashboard_scope_hourly")
            cur.execute("ANALYZE dashboard_scope_daily")
        loaded["rollup_rebuild_s"] = round(time.monotonic() - t, 1)
        print(f"  loaded: {loaded}", file=sys.stderr)
    else:
        print("reusing the bench rows already loaded", file=sys.stderr)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM dashboard_scope_daily WHERE scope_kind = 'merchant' "
                "AND scope_id = 'bm_00007'"
            )
            rolled_days = cur.fetchone()[0]
        if rolled_days < 360:
            t = time.monotonic()
            rollups_rebuild(since=end - timedelta(days=366), until=end)
            with connection.cursor() as cur:
                cur.execute("ANALYZE dashboard_scope_hourly")
                cur.execute("ANALYZE dashboard_scope_daily")
            loaded = {"rollup_rebuild_s": round(time.monotonic() - t, 1)}
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_hourly_aggregate")
        total = cur.fetchone()[0]

    def iso(t):
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    n = args.iterations
    merchant = time_case(
        {"from": iso(end - timedelta(days=30)), "to": iso(end), "granularity": "hour"},
        "attempts", "merchant:bm_00007", n,
    )  # fmt: skip
    platform7 = time_case(
        {"from": iso(end - timedelta(days=7)), "to": iso(end), "granularity": "hour",
         "currency": "XOF"}, "gmv", "platform", n,
    )  # fmt: skip
    platform365 = time_case(
        {"from": iso(end - timedelta(days=365)), "to": iso(end), "granularity": "day",
         "currency": "XOF"}, "gmv", "platform", n,
    )  # fmt: skip
    geo = time_case(
        {"from": iso(end - timedelta(days=7)), "to": iso(end), "granularity": "hour",
         "currency": "XOF", "country": "SN"}, "gmv", "platform", max(20, n // 10),
    )  # fmt: skip
    result = {
        "aggregate_rows": total,
        **({"load": loaded} if loaded else {}),
        "merchant_30d_hourly_p95_ms": merchant["p95_ms"],
        "platform_7d_hourly_p95_ms": platform7["p95_ms"],
        "platform_365d_daily_p95_ms": platform365["p95_ms"],
        "detail": {
            "merchant_30d_hourly": merchant,
            "platform_7d_hourly": platform7,
            "platform_365d_daily": platform365,
            "platform_7d_hourly_country_filter_raw": geo,
        },
        "targets_ms": {
            "merchant_30d_hourly": 5,
            "platform_7d_hourly": 20,
            "platform_365d_daily": 50,
        },  # fmt: skip
        "ok": merchant["p95_ms"] < 5 and platform7["p95_ms"] < 20 and platform365["p95_ms"] < 50,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
