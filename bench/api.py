"""API benchmark on the DEV stack: overview vs ping at 100 keep-alive connections.

    eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate
    .venv/bin/python bench/api.py [--duration 20] [--concurrency 100]

Starts gunicorn the way `make up` does (config.wsgi:application, 3 gthread
workers x 4 threads) on a free port against the dev database and Redis,
warms the platform snapshot, then drives `/api/ping` and
`/api/dashboard/overview?scope=platform&period=24h` (JWT of a staff user) for
`--duration` seconds each, on the same machine, with `wrk` (Debian package
`wrk`, C, 2 threads; used when on PATH) or else an asyncio load generator
(raw sockets, HTTP/1.1 keep-alive, one request in flight per connection).
Last line: one JSON object.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def start_server(port):
    cmd = [
        str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "4",
        "--worker-class", "gthread", "--timeout", "60",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
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


async def connection_loop(port, request, stop_at, latencies, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            writer.write(request)
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
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: keep-alive\r\n\r\n"
    ).encode()
    latencies, errors = [], []
    start = time.perf_counter()
    stop_at = start + duration
    await asyncio.gather(
        *(connection_loop(port, request, stop_at, latencies, errors) for _ in range(concurrency))
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
    .. '"errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def drive_wrk(port, path, headers, concurrency, duration, script):
    cmd = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "-s", script]
    for line in headers.split("\r\n"):
        if line:
            cmd += ["-H", line]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    stats = json.loads(out.strip().splitlines()[-1])
    stats["rps"] = round(stats["requests"] / stats["seconds"], 1)
    stats["first_error"] = "non-2xx or socket errors (wrk)" if stats["errors"] else None
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--scope", default="platform")
    parser.add_argument("--period", default="24h")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if args.generator == "wrk" and not shutil.which("wrk"):
        fail("wrk is not installed: apt-get install wrk, or --generator python")

    import django

    django.setup()
    check_dev_stack()
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.choices import Role
    from accounts.scope import Scope
    from accounts.services import user_create
    from dashboard.snapshots.refresh import snapshot_refresh_scope

    user = user_create(
        username="bench_api_ops", password="bench-api-ops-pw-1234", role=Role.OPS_ADMIN,
        scope="platform", update=True,
    )  # fmt: skip
    token = str(RefreshToken.for_user(user).access_token)
    t = time.monotonic()
    snapshot_refresh_scope(scope=Scope.parse(args.scope), wait=True)  # warms Redis and the table
    warm_s = round(time.monotonic() - t, 2)

    port = free_port()
    proc = start_server(port)
    try:
        auth = f"Authorization: Bearer {token}\r\n"
        overview = f"/api/dashboard/overview?scope={args.scope}&period={args.period}"
        if use_wrk:
            script = Path(f"/tmp/molam-bench-api-{os.getpid()}.lua")
            script.write_text(WRK_SCRIPT)

            def run(path, headers, duration):
                return drive_wrk(port, path, headers, args.concurrency, duration, str(script))
        else:

            def run(path, headers, duration):
                return asyncio.run(drive(port, path, headers, args.concurrency, duration))

        # Warm every worker (imports, connections, the per-process auth cache).
        run("/api/ping", "", 2)
        run(overview, auth, 2)
        ping = run("/api/ping", "", args.duration)
        over = run(overview, auth, args.duration)
    finally:
        stop_server(proc)
    generator = "wrk" if use_wrk else "python-asyncio"
    detail = {"generator": generator, "ping": ping, "overview": over, "snapshot_warm_s": warm_s}
    print(json.dumps(detail), file=sys.stderr)
    if over["errors"] or ping["errors"]:
        fail(f"non-200 answers: ping {ping['first_error']}, overview {over['first_error']}")
    result = {
        "concurrency": args.concurrency,
        "overview_rps": over["rps"],
        "overview_p95_ms": over["p95_ms"],
        "ping_rps": ping["rps"],
        "ratio": round(over["rps"] / ping["rps"], 3) if ping["rps"] else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
