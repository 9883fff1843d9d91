"""API benchmark on the DEV stack: a realistic read mix against `/api/ping`, same run.

    eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate
    .venv/bin/python bench/api.py [--duration 20] [--concurrency 100] [--users 60]

The mix is what a fleet of dashboard users asks: `--users` users of every role
(platform staff of the three staff roles, bank and regional finance/ops users,
merchant admins, agents; created once, named `bench_api_*`), each with its own
JWT (`AccessToken.for_user`, verified by the server as any client's), tenant
users on their own scope (with and without `scope=`), staff on many scopes
(platform, regions, banks, merchants, agents), all four periods, and time
series reads (hourly and daily, count and money metrics) for
`--timeseries-share` of the requests. The scopes are those the dev data has
snapshots for. Every request of the mix must answer 200; after the run a sample
of `--check` bodies is fetched again and checked to be for the asked scope and
period.

Starts gunicorn the way `make up` does (`-c config/gunicorn.conf.py`: the same
worker model) on a free port against the dev database and Redis, or uses a
running server (`--port`, e.g. the `make up` web). Drives `/api/ping`, then
the mix, `--duration` seconds each, `--rounds` times in turn (ping, mix, ping,
mix, ...: the machine's background work, a snapshot refresh or an ingestion
burst, falls on either side alike), `--concurrency` keep-alive connections,
with `wrk` (Debian package `wrk`, C, 2 threads; a Lua script rotates the mix's
requests) when on PATH, else an asyncio load generator (raw sockets, one
request in flight per connection). Each round compares its mix with the ping
just before it; the headline figures are the medians over the rounds (of each
ratio, and of each figure), every round is listed in `each_round`, with the web
processes' and the load generator's CPU per answer. Target: mix requests/s at
least 0.7 x ping's, mix p95 at most 1.5 x ping's. Last line: one JSON object.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def fail(message):
    print(message, file=sys.stderr)
    print(json.dumps({"error": message}))
    sys.exit(2)


def check_dev_stack():
    import psycopg
    import redis
    from django.conf import settings

    db = settings.DATABASES["default"]
    hint = (
        'start it with `bash scripts/stack.sh up dev`, `eval "$(bash scripts/stack.sh env dev)"` '
        "and `.venv/bin/python manage.py migrate`"
    )
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
            dbname=db["NAME"], connect_timeout=3,
        ).close()  # fmt: skip
    except psycopg.OperationalError:
        fail(f"dev database not reachable at {db['HOST']}:{db['PORT']}: {hint}")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        fail(f"dev Redis not reachable at {settings.REDIS_URL}: {hint}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, metrics_dir):
    # The worker model of `make up` (config/gunicorn.conf.py, as supervisord starts it),
    # with its own Prometheus directory: /metrics then sums every worker's counters.
    cmd = [
        str(ROOT / ".venv/bin/gunicorn"), "-c", "config/gunicorn.conf.py",
        "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /api/ping HTTP/1.1\r\nHost: bench\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            fail(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
    proc.terminate()
    fail("gunicorn did not answer within 30 s")


def stop_server(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the gunicorn we started, and its workers
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


async def connection_loop(port, request, stop_at, latencies, errors, start=0):
    """One keep-alive connection: `request` (bytes) again and again, or a list rotated from
    `start`."""
    requests = request if isinstance(request, list) else [request]
    i = start
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode())
                continue
            latencies.append(time.perf_counter() - t)
    finally:
        writer.close()


async def drive(port, path, headers, concurrency, duration):
    return await drive_mix(port, [(path, headers)], concurrency, duration)


def _raw_request(path, headers):
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: keep-alive\r\n\r\n"
    ).encode()


async def drive_mix(port, requests, concurrency, duration):
    """asyncio generator over (path, headers) pairs, each connection rotating from its own
    offset."""
    raw = [_raw_request(path, headers) for path, headers in requests]
    latencies, errors = [], []
    start = time.perf_counter()
    stop_at = start + duration
    step = max(1, len(raw) // max(1, concurrency))
    await asyncio.gather(
        *(
            connection_loop(port, raw, stop_at, latencies, errors, start=c * step)
            for c in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    p = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)  # noqa: E731
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": p(0.50),
        "p95_ms": p(0.95),
        "p99_ms": p(0.99),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, '
    .. '"errors": %d, "non_2xx": %d, "timeouts": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.errors.timeout))
end
"""


def drive_wrk(port, path, headers, concurrency, duration, script):
    # A 10 s timeout (wrk's default is 2 s): on a saturated machine the tail is measured,
    # not dropped as socket errors.
    cmd = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s"]
    cmd += ["-s", script]
    for line in headers.split("\r\n"):
        if line:
            cmd += ["-H", line]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = json.loads(out.strip().splitlines()[-1])
    stats["rps"] = round(stats["requests"] / stats["seconds"], 1)
    # The load generator shares the cores: its own CPU per request, reported beside the web's.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stats["client_cpu_ms_per_request"] = round(1000 * cpu / max(1, stats["requests"]), 3)
    stats["first_error"] = "non-2xx or socket errors (wrk)" if stats["errors"] else None
    return stats


WRK_MIX_SCRIPT = """
local paths = {%(paths)s}
local tokens = {%(tokens)s}
local users = {%(users)s}
local threads, counter = {}, 0
local requests, i = {}, 0

setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter)
  table.insert(threads, thread)
end

init = function(args)
  for n, path in ipairs(paths) do
    requests[n] = wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[users[n]]})
  end
  -- Each wrk thread starts elsewhere in the mix (same requests, other order of arrival).
  i = math.floor((offset - 1) * #requests / 2)
end

request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""

PERIODS = ("today", "24h", "7d", "30d")
TIMESERIES = (
    ("gmv", {"currency": "XOF", "granularity": "hour"}),
    ("success_count", {"granularity": "hour"}),
    ("attempts", {"granularity": "day"}),
    ("success_rate", {"granularity": "day"}),
)


def known_scopes():
    """{kind: [scope text]} of the scopes the dev data has snapshots for."""
    from dashboard.models import Snapshot

    scopes = {}
    pairs = Snapshot.objects.values_list("scope_kind", "scope_id").distinct()
    for kind, ident in sorted(pairs):
        scopes.setdefault(kind, []).append(kind if kind == "platform" else f"{kind}:{ident}")
    return scopes


def bench_users(count, scopes):
    """`count` users of every role (created once, `bench_api_*`): (username, role, scope)."""
    from accounts.choices import Role

    share = {  # role, scope kind, fraction of the users
        "staff": 0.2, "bank": 0.1, "region": 0.1, "merchant": 0.4, "agent": 0.2,
    }  # fmt: skip
    staff_roles = [Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS]
    plan = []
    for kind, fraction in share.items():
        n = max(1, round(count * fraction))
        for i in range(n):
            if kind == "staff":
                plan.append((f"bench_api_staff_{i}", staff_roles[i % 3], "platform"))
                continue
            pool = scopes.get(kind) or []
            if not pool:
                continue
            role = {"bank": Role.FINANCE_OPS, "region": Role.OPS_ADMIN,
                    "merchant": Role.MERCHANT_ADMIN, "agent": Role.AGENT}[kind]  # fmt: skip
            plan.append((f"bench_api_{kind}_{i}", role, pool[i % len(pool)]))
    return plan[:count] if len(plan) > count else plan


def ensure_users(plan):
    """The users of `plan`, created (or corrected) through the provisioning service."""
    from accounts.models import User
    from accounts.services import user_create

    existing = {u.username: u for u in User.objects.filter(username__startswith="bench_api_")}
    users = []
    for username, role, scope in plan:
        user = existing.get(username)
        current = user and (user.role, user.scope_kind, user.scope_id, user.is_active)
        kind, _, ident = scope.partition(":")
        if current != (role, kind, ident, True):
            user = user_create(
                username=username, password=f"{username}-bench-pw-2026", role=role,
                scope=scope, update=True,
            )  # fmt: skip
            if not user.is_active:
                user.is_active = True
                user.save(update_fields=["is_active"])
        users.append((user, scope))
    return users


def read_mix(users, scopes, timeseries_share, rng):
    """[(username, path, expected scope, expected period or metric)]: every user's reads."""
    staff_pool = [s for kind in ("platform", "region", "bank", "merchant", "agent")
                  for s in scopes.get(kind, [])]  # fmt: skip
    mix = []
    for user, own in users:
        if own == "platform":
            asked = ["platform", *rng.sample(staff_pool, min(8, len(staff_pool)))]
        else:
            asked = [own, None]  # with and without `scope=` (the default is the own scope)
        overview = []
        for scope in asked:
            for period in PERIODS:
                query = {"period": period} if scope is None else {"scope": scope, "period": period}
                path = f"/api/dashboard/overview?{urlencode(query)}"
                overview.append((user.username, path, scope or own, period))
        mix += overview
        # Time series: `timeseries_share` of this user's requests.
        wanted = round(len(overview) * timeseries_share / (1 - timeseries_share))
        for n in range(wanted):
            metric, params = TIMESERIES[n % len(TIMESERIES)]
            scope = asked[n % len(asked)] or own
            query = urlencode({"scope": scope, **params})
            path = f"/api/dashboard/metrics/{metric}/timeseries?{query}"
            mix.append((user.username, path, scope, metric))
    rng.shuffle(mix)
    return mix


def check_bodies(port, mix, tokens, sample, rng):
    """Fetch `sample` requests of the mix again: 200, and the body is for the asked scope."""
    import http.client

    bad = []
    for username, path, scope, what in rng.sample(mix, min(sample, len(mix))):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Authorization": f"Bearer {tokens[username]}"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            bad.append(f"{username} {path}: HTTP {response.status}")
            continue
        doc = json.loads(body)
        key = "period" if "/overview" in path else "metric"
        if doc.get("scope") != scope or doc.get(key) != what:
            bad.append(f"{username} {path}: scope {doc.get('scope')} {key} {doc.get(key)}")
    return bad


CACHE_COUNTERS = ("dashboard_series_cache_answers_total", "redis_mirror_reads_total")


def cache_counts(port):
    """{counter: {result: value}} of the read caches, from the server's /metrics."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    counts = {name: {} for name in CACHE_COUNTERS}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name in counts and 'result="' in rest:
            result = rest.split('result="', 1)[1].split('"', 1)[0]
            counts[name][result] = counts[name].get(result, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def cache_rates(before, after):
    """Hit rates of the read caches between two cache_counts()."""
    rates = {}
    for name, labels in after.items():
        delta = {k: v - before.get(name, {}).get(k, 0) for k, v in labels.items()}
        total = sum(delta.values())
        short = name.removesuffix("_total")
        rates[short] = {k: round(v / total, 3) for k, v in delta.items()} if total else {}
    return rates


def server_cpu_s(proc):
    """CPU seconds (user + system) used so far by the gunicorn we started and its workers."""
    if proc is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid, [11] and [12] utime and stime (after the name).
        if int(stat.parent.name) == proc.pid or int(fields[1]) == proc.pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def lua_list(values):
    return ", ".join(f"[[{v}]]" for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds per phase")
    parser.add_argument("--rounds", type=int, default=3, help="ping then mix, this many times")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--timeseries-share", type=float, default=0.2)
    parser.add_argument("--check", type=int, default=60, help="bodies checked after the run")
    parser.add_argument("--port", type=int, help="a running server (default: start gunicorn)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if args.generator == "wrk" and not shutil.which("wrk"):
        fail("wrk is not installed: apt-get install wrk, or --generator python")
    if not 0 <= args.timeseries_share < 1:
        fail("--timeseries-share must be in [0, 1)")

    import django

    django.setup()
    check_dev_stack()
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.scope import Scope
    from dashboard.snapshots.refresh import snapshot_refresh_scope

    rng = random.Random(args.seed)
    scopes = known_scopes()
    if "platform" not in scopes:
        snapshot_refresh_scope(scope=Scope.platform(), wait=True)
        scopes = known_scopes()
    users = ensure_users(bench_users(args.users, scopes))
    tokens = {user.username: str(AccessToken.for_user(user)) for user, _ in users}
    mix = read_mix(users, scopes, args.timeseries_share, rng)
    roles = sorted({user.role for user, _ in users})
    described = {
        "users": len(users),
        "roles": roles,
        "distinct_requests": len(mix),
        "distinct_scopes": len({m[2] for m in mix}),
        "timeseries_requests": sum(1 for m in mix if "/timeseries" in m[1]),
    }

    proc = None
    port = args.port
    metrics_dir = Path(f"/tmp/molam-bench-api-{os.getpid()}.prometheus")
    if port is None:
        port = free_port()
        metrics_dir.mkdir()
        proc = start_server(port, metrics_dir)
    try:
        if use_wrk:
            base = Path(f"/tmp/molam-bench-api-{os.getpid()}")
            ping_script = base.with_suffix(".ping.lua")
            ping_script.write_text(WRK_SCRIPT)
            mix_script = base.with_suffix(".mix.lua")
            mix_script.write_text(
                WRK_MIX_SCRIPT
                % {
                    "paths": lua_list(m[1] for m in mix),
                    "users": lua_list(m[0] for m in mix),
                    "tokens": ", ".join(f"[ [[{u}]] ] = [[{t}]]" for u, t in tokens.items()),
                }
                + WRK_SCRIPT
            )

            def run_ping(duration):
                script = str(ping_script)
                return drive_wrk(port, "/api/ping", "", args.concurrency, duration, script)

            def run_mix(duration):
                return drive_wrk(port, "/", "", args.concurrency, duration, str(mix_script))
        else:
            pairs = [(m[1], f"Authorization: Bearer {tokens[m[0]]}\r\n") for m in mix]

            def run_ping(duration):
                return asyncio.run(drive(port, "/api/ping", "", args.concurrency, duration))

            def run_mix(duration):
                return asyncio.run(drive_mix(port, pairs, args.concurrency, duration))

        # Warm every worker (imports, connections) on both paths, then measure.
        run_ping(2)
        run_mix(3)
        rounds = []
        for _ in range(max(1, args.rounds)):
            cpu0 = server_cpu_s(proc)
            ping = run_ping(args.duration)
            cpu1 = server_cpu_s(proc)
            counts = cache_counts(port)
            over = run_mix(args.duration)
            cpu2 = server_cpu_s(proc)
            over["cache_rates"] = cache_rates(counts, cache_counts(port))
            if proc is not None:  # the web processes' CPU per answer: where the time goes
                ping["web_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / ping["requests"], 3)
                over["web_cpu_ms_per_request"] = round(1000 * (cpu2 - cpu1) / over["requests"], 3)
            rounds.append((ping, over))
        bad = check_bodies(port, mix, tokens, args.check, rng)
    finally:
        if proc is not None:
            stop_server(proc)
        for leftover in Path("/tmp").glob(f"molam-bench-api-{os.getpid()}.*.lua"):
            leftover.unlink()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    generator = "wrk" if use_wrk else "python-asyncio"
    detail = {"generator": generator, "mix": described,
              "rounds": [{"ping": p, "mix_run": o} for p, o in rounds]}  # fmt: skip
    print(json.dumps(detail), file=sys.stderr)
    # Every answer must be a 200 (wrk counts other statuses apart from socket errors, which
    # a saturated machine may give ping too: reported, not fatal).
    for ping, over in rounds:
        if ping.get("non_2xx", ping["errors"]) or over.get("non_2xx", over["errors"]):
            fail(f"non-200 answers: ping {ping['first_error']}, mix {over['first_error']}")
    if bad:
        fail(f"bodies not for the asked scope: {bad[:5]}")
    figures = [round_figures(ping, over) for ping, over in rounds]
    rps_ratio = median([f["rps_ratio"] for f in figures])
    p95_ratio = median([f["p95_ratio"] for f in figures])
    result = {
        "concurrency": args.concurrency,
        "users": len(users),
        "distinct_requests": len(mix),
        "rounds": len(rounds),
        "rps_ratio": rps_ratio,
        "p95_ratio": p95_ratio,
        **{
            k: median([f[k] for f in figures])
            for k in (
                "mix_rps",
                "mix_p95_ms",
                "ping_rps",
                "ping_p95_ms",
                "mix_web_cpu_ms",
                "ping_web_cpu_ms",
            )
        },  # fmt: skip
        "each_round": figures,
        "bodies_checked": min(args.check, len(mix)),
        "target_met": bool(rps_ratio and rps_ratio >= 0.7 and p95_ratio and p95_ratio <= 1.5),
    }
    print(json.dumps(result))


def median(values):
    """The median of the values that are not None (None when none is)."""
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def round_figures(ping, over):
    """One round's figures: its mix beside the ping run just before it."""
    return {
        "rps_ratio": round(over["rps"] / ping["rps"], 3) if ping["rps"] else None,
        "p95_ratio": round(over["p95_ms"] / ping["p95_ms"], 3) if ping["p95_ms"] else None,
        "mix_rps": over["rps"],
        "mix_p95_ms": over["p95_ms"],
        "ping_rps": ping["rps"],
        "ping_p95_ms": ping["p95_ms"],
        "mix_web_cpu_ms": over.get("web_cpu_ms_per_request"),
        "ping_web_cpu_ms": ping.get("web_cpu_ms_per_request"),
        "mix_client_cpu_ms": over.get("client_cpu_ms_per_request"),
        "ping_client_cpu_ms": ping.get("client_cpu_ms_per_request"),
        "mix_cache_rates": over["cache_rates"],
        "socket_errors": {"ping": ping["errors"], "mix": over["errors"]},
    }


if __name__ == "__main__":
    main()
