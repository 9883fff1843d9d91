"""Time-series benchmark over HTTP on the DEV stack: many users, scopes, ranges, metrics.

    eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate
    .venv/bin/python bench/timeseries.py --rows 10000000 [--duration 20] [--concurrency 50]

Fills dashboard_hourly_aggregate with realistic rows by COPY (a year of hours,
thousands of merchants, banks, agents, platform geography; every bench row has
region='bench' so `--clean` can remove them; about 2.5M rows at least), rebuilds
the rollups the refresh task maintains, then:

1. makes bench users of every role that may read time series (staff on the
   platform and any scope, region staff, merchant admins, agents, bank-scoped
   finance), each with its own JWT, and a mix of requests: each user on the
   scopes it may read, hour granularity over 24 h / 7 d / 31 d and day
   granularity over 30 d / 90 d / 365 d, count and money metrics (and `sales`),
   in several currencies, some with a country filter;
2. starts gunicorn as bench/api.py does (as `make up` runs it) and asks every
   distinct request once over HTTP: each answer's points are checked bucket by
   bucket against an independent SQL sum over dashboard_hourly_aggregate (no
   product code: not the rollups, not the service's SQL);
3. drives the whole mix for `--duration` seconds over `--concurrency` keep-alive
   connections (each connection walks the mix from its own offset) and checks
   EVERY answer's body against the body verified in step 2 (byte for byte), then
   `/api/ping` the same way for reference.

Reports requests/s, p50/p95/p99 of the mix and of ping. Last line: one JSON object.

Nothing may ingest meanwhile (on the `make up` stack: `bash scripts/stack.sh ctl stop
producer`, then `start producer`): live events change the platform's and their
regions' answers between the check and the run, which the byte-for-byte check
reports as bad answers (181 of 19,190 in a run with the demo producer on).
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
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


COUNT_METRICS = ("attempts", "success_count", "failed_count")
MONEY_METRICS = ("gmv", "fees", "sales")
HOUR_RANGES = (timedelta(hours=24), timedelta(days=7), timedelta(days=31))
DAY_RANGES = (timedelta(days=30), timedelta(days=90), timedelta(days=365))


def bench_users():
    """(username, scope the user is bound to, JWT, scopes it may read) for every role."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.choices import Role
    from accounts.services import user_create

    rng = random.Random(77)
    people = [(f"bench_ts_staff_{i}", Role.OPS_ADMIN, "platform") for i in range(3)]
    people += [("bench_ts_pay", Role.PAY_ADMIN, "platform")]
    people += [("bench_ts_fin", Role.FINANCE_OPS, "platform")]
    people += [(f"bench_ts_region_{cc}", Role.OPS_ADMIN, f"region:{cc}") for cc in ("SN", "GH")]
    people += [(f"bench_ts_m{i}", Role.MERCHANT_ADMIN, f"merchant:bm_{i:05d}") for i in range(12)]
    people += [(f"bench_ts_a{i}", Role.AGENT, f"agent:ba_{i:05d}") for i in range(0, 600, 50)]
    people += [(f"bench_ts_b{i}", Role.FINANCE_OPS, f"bank:bb_{i:03d}") for i in range(6)]
    out = []
    for username, role, scope in people:
        user = user_create(
            username=username, password="bench-ts-pw-1234", role=role, scope=scope, update=True
        )
        if scope == "platform":
            reads = ["platform", "region:CI", "region:NG"]
            reads += [f"merchant:bm_{rng.randrange(100):05d}" for _ in range(3)]
            reads += [f"bank:bb_{rng.randrange(N_BANKS):03d}", f"agent:ba_{rng.randrange(50):05d}"]
        else:
            reads = [scope]
        out.append((username, scope, str(RefreshToken.for_user(user).access_token), reads))
    return out


def request_mix(users, end):
    """Distinct requests: (path, Authorization header, scope, params) for every user."""
    from urllib.parse import urlencode

    rng = random.Random(1234)

    def iso(t):
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    mix = []
    for _username, _own, token, reads in users:
        for scope in reads:
            for granularity, ranges in (("hour", HOUR_RANGES), ("day", DAY_RANGES)):
                for span in ranges:
                    metric = rng.choice(COUNT_METRICS + MONEY_METRICS)
                    params = {
                        "scope": scope,
                        "from": iso(end - span),
                        "to": iso(end),
                        "granularity": granularity,
                    }
                    if metric in MONEY_METRICS or rng.random() < 0.5:
                        params["currency"] = rng.choice(("XOF", "XOF", "GHS", "NGN"))
                    if scope == "platform" and rng.random() < 0.3:
                        params["country"] = rng.choice(("SN", "CI", "GH"))
                    path = f"/api/dashboard/metrics/{metric}/timeseries?{urlencode(params)}"
                    mix.append((path, f"Authorization: Bearer {token}\r\n", metric, params))
    return mix


def ceil_utc(text, unit):
    """An RFC 3339 time rounded up to the start of its UTC hour or day."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    floor = datetime(t.year, t.month, t.day, tzinfo=UTC)
    if unit == "hour":
        floor += timedelta(hours=t.hour)
    return floor if floor == t else floor + step


def oracle(cur, metric, params):
    """{epoch of bucket start: Decimal sum} straight from dashboard_hourly_aggregate."""
    kind, _, ident = params["scope"].partition(":")
    if kind == "region":
        where, args = "scope_kind = 'platform' AND scope_id = '' AND country = %s", [ident]
    elif kind == "platform":
        where, args = "scope_kind = 'platform' AND scope_id = ''", []
    else:
        where, args = "scope_kind = %s AND scope_id = %s", [kind, ident]
    for key in ("currency", "country"):
        if key in params:
            where += f" AND {key} = %s"
            args.append(params[key])
    column = "cash_in_amount + cash_out_amount" if metric == "sales" else metric
    unit = "day" if params["granularity"] == "day" else "hour"
    # The contract rounds `from` and `to` up to the bucket: [from, to) of whole buckets.
    cur.execute(
        f"SELECT extract(epoch FROM date_trunc('{unit}', bucket, 'UTC'))::bigint, "
        f"sum({column}) FROM dashboard_hourly_aggregate WHERE {where} "
        "AND bucket >= %s AND bucket < %s GROUP BY 1",
        [*args, ceil_utc(params["from"], unit), ceil_utc(params["to"], unit)],
    )
    return {epoch: total for epoch, total in cur.fetchall() if total}


def verify(port, mix):
    """Ask every distinct request once; check its points against the SQL oracle. Returns
    {path+auth: body bytes} and the number of non-zero buckets checked."""
    import http.client
    from decimal import Decimal

    from django.db import connection

    bodies, checked = {}, 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    with connection.cursor() as cur:
        for path, auth, metric, params in mix:
            token = auth.split(" ", 2)[2].strip()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                fail(f"{path}: HTTP {response.status} {body[:300]!r}")
            points = json.loads(body)["points"]
            got = {
                int(datetime.fromisoformat(p["t"].replace("Z", "+00:00")).timestamp()): Decimal(
                    str(p["value"])
                )
                for p in points
                if p["value"] not in (0, "0", None)
            }
            want = oracle(cur, metric, params)
            if got != want:
                diff = sorted(set(got.items()) ^ set(want.items()))[:3]
                fail(f"{path}: answer differs from SQL in {len(set(got) ^ set(want))} "
                     f"buckets or values, e.g. {diff}")  # fmt: skip
            checked += len(want)
            bodies[path + auth] = body
    conn.close()
    return bodies, checked


async def walk(port, mix, expected, offset, stop_at, latencies, errors):
    """One keep-alive connection walking the mix from `offset`; every body compared."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            path, auth = mix[i % len(mix)][:2]
            i += 1
            t = time.perf_counter()
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: keep-alive\r\n"
            writer.write((request + "\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if not head.startswith(b"HTTP/1.1 200"):
                status_line = head.split(b"\r\n", 1)[0].decode()
                errors.append(f"{path}: {status_line}")
                continue
            if expected is not None and body != expected[path + auth]:
                errors.append(f"{path}: body differs from the verified answer")
                continue
            latencies.append(time.perf_counter() - t)
    finally:
        writer.close()


def drive_mix(port, mix, expected, concurrency, duration):
    import asyncio

    latencies, errors = [], []
    start = time.perf_counter()
    stop_at = start + duration
    step = max(1, len(mix) // concurrency)

    async def run():
        await asyncio.gather(
            *(
                walk(port, mix, expected, c * step, stop_at, latencies, errors)
                for c in range(concurrency)
            )
        )

    asyncio.run(run())
    elapsed = time.perf_counter() - start
    latencies.sort()

    def p(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": p(0.50),
        "p95_ms": p(0.95),
        "p99_ms": p(0.99),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--clean", action="store_true", help="delete the bench rows and exit")
    args = parser.parse_args()

    import django

    django.setup()
    check_dev_stack()
    from django.db import connection

    from bench.api import free_port, start_server, stop_server
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
    # The rollups must cover the bench rows (a rebuild after a bulk load, as documented).
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM dashboard_scope_daily WHERE scope_kind = 'merchant' "
            "AND scope_id = 'bm_00007'"
        )
        rolled_days = cur.fetchone()[0]
    if loaded or rolled_days < 360:
        t = time.monotonic()
        rollups_rebuild(since=end - timedelta(days=366), until=end)
        with connection.cursor() as cur:
            cur.execute("ANALYZE dashboard_scope_hourly")
            cur.execute("ANALYZE dashboard_scope_daily")
        loaded = {**(loaded or {}), "rollup_rebuild_s": round(time.monotonic() - t, 1)}
        print(f"  loaded: {loaded}", file=sys.stderr)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_hourly_aggregate")
        total = cur.fetchone()[0]

    users = bench_users()
    # The bench rows end at `end` (the next hour): ask up to the hour of the fill.
    mix = request_mix(users, end)
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="molam-bench-timeseries-"))  # its own counters
    proc = start_server(port, metrics_dir)
    try:
        t = time.monotonic()
        expected, checked = verify(port, mix)
        verify_s = round(time.monotonic() - t, 1)
        print(f"  {len(mix)} distinct requests verified against SQL "
              f"({checked} non-zero buckets) in {verify_s} s", file=sys.stderr)  # fmt: skip
        drive_mix(port, mix, expected, args.concurrency, 2)  # warm every worker
        series = drive_mix(port, mix, expected, args.concurrency, args.duration)
        ping = drive_mix(
            port, [("/api/ping", "", None, None)], None, args.concurrency, args.duration
        )
    finally:
        stop_server(proc)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    print(json.dumps({"mix": series, "ping": ping}), file=sys.stderr)
    if series["errors"] or ping["errors"]:
        fail(f"{series['errors']} bad answers in the mix ({series['first_error']}), "
             f"{ping['errors']} on ping")  # fmt: skip
    result = {
        "aggregate_rows": total,
        **({"load": loaded} if loaded else {}),
        "users": len(users),
        "distinct_requests": len(mix),
        "buckets_checked_against_sql": checked,
        "concurrency": args.concurrency,
        "mix_rps": series["rps"],
        "mix_p50_ms": series["p50_ms"],
        "mix_p95_ms": series["p95_ms"],
        "mix_p99_ms": series["p99_ms"],
        "mix_requests_checked": series["requests"],
        "ping_rps": ping["rps"],
        "ping_p95_ms": ping["p95_ms"],
        "generator": "python-asyncio (same machine)",
        "ok": True,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
