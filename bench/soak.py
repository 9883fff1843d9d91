"""Soak run against the running dev stack (`make up`): steady ingestion plus concurrent readers.

For --minutes minutes, demo events (dashboard/ingest/demo.py, the project's
producer dashboard/ingest/producer.py) are produced at --rate events/s by a
separate process, while --readers concurrent readers (asyncio, one HTTP/1.1
keep-alive connection each, --think seconds between requests) read the API as
the demo users of every role (accounts/demo.py; JWTs minted for them, renewed
before they expire), each within its own scope: overviews of every period and
time series, platform users across other scopes too. A (user, path) the API
refuses at the start (a role without that endpoint) is left out and listed.

Per minute: requests, errors (must be 0), p50/p95/max latency, events produced,
consumer lag (messages of the run not yet committed), and the memory of every
process of the stack grouped by part (web, celery worker, beat, consumer, its
ingest workers, demo producer, supervisord, PostgreSQL, Redis, broker):
resident (VmRSS) and private (RssAnon; PostgreSQL's shared buffers count in
VmRSS as backends touch them, so flatness is judged on RssAnon).

Environment: `scripts/stack.sh env dev` (STACK_PORT_OFFSET picks a second copy).

    .venv/bin/python bench/soak.py                              # 10 min, 2000/s, 50 readers
    STACK_PORT_OFFSET=300 .venv/bin/python bench/soak.py --minutes 3 --rate 500

The last output line is one JSON object; exit status 1 on any reader error or
when ingestion fell behind for good (lag at the end above one minute of events).
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from chaos import scan, stack_env, web_port  # noqa: E402

PERIODS = ("today", "24h", "7d", "30d")
T0 = time.monotonic()


def log(msg):
    print(f"[soak {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ production (own process)


def produce(rate, seconds, run, sent, delivered_q):
    """Child process: demo events at `rate`/s for `seconds`; reports the delivered offsets."""
    stack_env()
    import django

    django.setup()
    from dashboard.ingest.demo import DemoWorld
    from dashboard.ingest.producer import EventSender

    world = DemoWorld(seed=int(run, 16))
    sender = EventSender()
    start = time.monotonic()
    done = n = 0
    last_report = 0.0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate) - done
        for _ in range(max(0, due)):
            e = world.event()
            n += 1
            e["event_id"] = f"soak-{run}-{n}"
            sender.send(e)
        done += max(0, due)
        sent.value = done
        if time.monotonic() - last_report > 5:
            last_report = time.monotonic()
            delivered_q.put(dict(sender.delivered))
        time.sleep(0.02)
    sender.flush(60)
    delivered_q.put(dict(sender.delivered))


# ------------------------------------------------------------------ memory


def _status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "RssAnon:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) // 1024  # MB
    except OSError:
        return None
    return out


def _children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except OSError:
                continue
    return kids


def stack_processes(run_dir, exclude):
    """{part: [pid]} of every process of the stack."""
    parts = defaultdict(list)
    procs = scan()
    consumer_pids = {p for p, _pp, a in procs if "consume_events" in a}
    for pid, ppid, argv in procs:
        if pid in exclude or ppid in exclude:
            continue
        cmd = " ".join(argv)
        if Path(argv[0]).name in ("postgres", "redis-server", "tansu"):
            continue  # their own groups below (a restarted server may carry our environment)
        if "gunicorn" in cmd:
            part = "web"
        elif "celery" in cmd and " beat" in cmd:
            part = "beat"
        elif "celery" in cmd:
            part = "celery_worker"
        elif "consume_events" in cmd:
            part = "consumer"
        elif ppid in consumer_pids:
            part = "consumer_workers"  # its ingest workers and multiprocessing's resource tracker
        elif "produce_events" in cmd:
            part = "demo_producer"
        elif "supervisord" in cmd:
            part = "supervisord"
        else:
            part = "other_app"
        parts[part].append(pid)
    for name in ("redis", "broker"):
        try:
            parts[name].append(int((run_dir / name / f"{name}.pid").read_text().split()[0]))
        except (OSError, ValueError):
            pass
    try:
        pm = (run_dir / "pg").resolve() / "data" / "postmaster.pid"
        postmaster = int(pm.read_text().split()[0])
        parts["postgres"] = [postmaster, *_children(postmaster)]
    except (OSError, ValueError):
        pass
    return parts


def memory(parts):
    out = {}
    for part, pids in parts.items():
        stats = [s for s in map(_status, pids) if s]
        out[part] = {
            "processes": len(stats),
            "rss_mb": sum(s.get("VmRSS", 0) for s in stats),
            "anon_mb": sum(s.get("RssAnon", 0) for s in stats),
        }
    return out


# ------------------------------------------------------------------ readers


async def _request(reader, writer, path, token):
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def reader_loop(port, plan, tokens, stop_at, think, samples, rng):
    conn = None
    while time.monotonic() < stop_at:
        user, path = rng.choice(plan)
        t = time.monotonic()
        try:
            reused = conn is not None
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await asyncio.wait_for(_request(*conn, path, tokens[user]), 60)
            except (ConnectionError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # The server closed an idle keep-alive connection (gunicorn's
                # keepalive): as any HTTP client does, send again on a new one.
                conn[1].close()
                conn = await asyncio.open_connection("127.0.0.1", port)
                status = await asyncio.wait_for(_request(*conn, path, tokens[user]), 60)
            samples.append((t, time.monotonic() - t, status, path))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            samples.append((t, time.monotonic() - t, f"{type(exc).__name__}", path))
            if conn:
                conn[1].close()
            conn = None
        if think:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    if conn:
        conn[1].close()


def mint_tokens(users):
    from rest_framework_simplejwt.tokens import RefreshToken

    return {u.username: str(RefreshToken.for_user(u).access_token) for u in users}


def reading_plan(users):
    """(username, path) pairs: each user's own scope, platform users across scopes."""
    others = ["platform", "region:SN", "region:CI", "merchant:m_1042", "bank:b_sgbs",
              "agent:a_0001"]  # fmt: skip
    plan = []
    for u in users:
        own = "platform" if u.scope_kind == "platform" else f"{u.scope_kind}:{u.scope_id}"
        scopes = others if own == "platform" else [own]
        for scope in scopes:
            for period in PERIODS:
                q = urlencode({"scope": scope, "period": period})
                plan.append((u.username, f"/api/dashboard/overview?{q}"))
            for metric, extra in (("gmv", {"currency": "XOF"}), ("success_count", {})):
                q = urlencode({"scope": scope, "granularity": "hour", **extra})
                plan.append((u.username, f"/api/dashboard/metrics/{metric}/timeseries?{q}"))
    return plan


def check_plan(port, plan, tokens):
    """Keep the (user, path) pairs the API answers 200 at the start; list the others."""

    async def one(user, path):
        conn = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(_request(*conn, path, tokens[user]), 120)
        finally:
            conn[1].close()

    async def run_all():
        return await asyncio.gather(*(one(u, p) for u, p in plan), return_exceptions=True)

    kept, left_out = [], []
    for (user, path), status in zip(plan, asyncio.run(run_all()), strict=True):
        if status == 200:
            kept.append((user, path))
        else:
            left_out.append({"user": user, "path": path, "status": str(status)})
    return kept, left_out


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=2000, help="events/s produced")
    ap.add_argument("--readers", type=int, default=50, help="concurrent readers")
    ap.add_argument(
        "--think", type=float, default=1.0, help="mean seconds between a reader's requests"
    )
    ap.add_argument("--sample-s", type=float, default=10, help="memory sampling interval")
    args = ap.parse_args()

    stack_env()
    import django

    django.setup()
    from django.conf import settings

    from accounts.demo import DEMO_USERS
    from accounts.models import User
    from dashboard.ingest.producer import consumer_group_behind

    users = list(User.objects.filter(username__in=[u[0] for u in DEMO_USERS], is_active=True))
    if not users:
        print(json.dumps({"error": "no demo users: run `make up` (seed_demo) first"}))
        sys.exit(2)
    port = int(web_port())
    run_dir = Path(os.environ["MOLAM_RUN_DIR"])
    tokens = mint_tokens(users)
    plan, left_out = check_plan(port, reading_plan(users), tokens)
    roles = sorted({u.role for u in users if any(p[0] == u.username for p in plan)})
    log(f"web :{port}, {len(users)} users, {len(plan)} (user, path) pairs read "
        f"({len(left_out)} refused at the start and left out), roles {roles}")  # fmt: skip

    run = os.urandom(3).hex()
    seconds = args.minutes * 60
    ctx = mp.get_context("spawn")
    sent = ctx.Value("q", 0)
    delivered_q = ctx.Queue()
    producer = ctx.Process(target=produce, args=(args.rate, seconds, run, sent, delivered_q))
    producer.start()
    exclude = {os.getpid(), producer.pid}
    group = settings.KAFKA_CONSUMER_GROUP
    delivered = {}

    samples = []
    minutes = []
    mem_samples = defaultdict(list)  # minute -> [memory()]
    start = time.monotonic()
    stop_at = start + seconds

    state = {"next_tokens": time.monotonic() + 240, "minute_done": 0}

    def tick():
        """Blocking work (process scan, JWTs, lag probe): run in a thread, off the readers' loop."""
        nonlocal delivered
        now = time.monotonic()
        minute = int((now - start) // 60)
        mem_samples[minute].append(memory(stack_processes(run_dir, exclude)))
        while not delivered_q.empty():
            delivered = delivered_q.get_nowait()
        if now > state["next_tokens"]:
            tokens.update(mint_tokens(users))  # JWTs outlive the run
            state["next_tokens"] = now + 240
        if minute > state["minute_done"] or now >= stop_at:
            summarize(state["minute_done"])
            state["minute_done"] = minute
        return now

    async def sampler():
        loop = asyncio.get_running_loop()
        while True:
            now = await loop.run_in_executor(None, tick)
            if now >= stop_at:
                return
            await asyncio.sleep(min(args.sample_s, max(0.1, stop_at - now)))

    produced_at = [0]

    def summarize(m):
        lo, hi = start + 60 * m, start + 60 * (m + 1)
        window = [s for s in list(samples) if lo <= s[0] < hi]
        lat = [s[1] for s in window]
        errors = [s for s in window if s[2] != 200]
        try:
            behind = consumer_group_behind(group, dict(delivered))
        except Exception as exc:  # noqa: BLE001
            behind = f"probe failed: {exc}"
        mems = mem_samples.get(m) or [{}]
        last = mems[-1]
        produced = sent.value - produced_at[0]
        produced_at[0] = sent.value
        row = {
            "minute": m + 1,
            "requests": len(window),
            "errors": len(errors),
            "first_error": list(map(str, errors[0][2:])) if errors else None,
            "p50_ms": pct(lat, 0.5),
            "p95_ms": pct(lat, 0.95),
            "max_ms": pct(lat, 1.0),
            "events_produced": produced,
            "consumer_behind": behind,
            "memory_mb": {k: [v["rss_mb"], v["anon_mb"]] for k, v in sorted(last.items())},
        }
        minutes.append(row)
        log(
            f"minute {row['minute']}: {row['requests']} req, {row['errors']} errors, "
            f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, {produced} events, "
            f"behind {behind}; MB rss/anon {row['memory_mb']}"
        )

    async def drive():
        rng = random.Random(run)
        tasks = [
            reader_loop(
                port, plan, tokens, stop_at, args.think, samples, random.Random(rng.random())
            )
            for _ in range(args.readers)
        ]
        await asyncio.gather(sampler(), *tasks)

    log(f"run {run}: {args.minutes} min, {args.rate:.0f} events/s, {args.readers} readers "
        f"(think {args.think} s)")  # fmt: skip
    asyncio.run(drive())
    producer.join(120)
    while not delivered_q.empty():
        delivered = delivered_q.get_nowait()
    # Ingestion catching up after the load stops: how far behind it ended.
    drain_start = time.monotonic()
    behind = None
    while time.monotonic() - drain_start < 120:
        behind = consumer_group_behind(group, dict(delivered))
        if behind == 0:
            break
        time.sleep(2)
    drain_s = round(time.monotonic() - drain_start, 1)

    errors = sum(r["errors"] for r in minutes)
    lat = [s[1] for s in samples]
    full = [r for r in minutes if r["requests"]]
    first_mem = (mem_samples.get(0) or [{}])[-1]
    last_mem = (mem_samples.get(max(mem_samples)) or [{}])[-1]
    growth = {
        part: {
            "anon_mb_first_minute": first_mem.get(part, {}).get("anon_mb"),
            "anon_mb_last_minute": v["anon_mb"],
            "rss_mb_first_minute": first_mem.get(part, {}).get("rss_mb"),
            "rss_mb_last_minute": v["rss_mb"],
        }
        for part, v in sorted(last_mem.items())
    }
    produced_rate = round(sent.value / seconds, 1)
    ok = errors == 0 and behind is not None and behind <= args.rate * 60
    print("", file=sys.stderr)
    verdict = "OK" if ok else "FAILED"
    print(f"soak run {run}: {verdict}: {args.minutes} min, {produced_rate} events/s "
          f"produced (asked {args.rate:.0f}), {args.readers} readers", file=sys.stderr)  # fmt: skip
    print(f"  requests {len(samples)}, errors {errors}, p50 {pct(lat, 0.5)} ms, "
          f"p95 {pct(lat, 0.95)} ms; per-minute p95: {[r['p95_ms'] for r in full]}",
          file=sys.stderr)  # fmt: skip
    print(f"  consumer behind at the end of the load: {minutes[-1]['consumer_behind']}, "
          f"caught up {behind} after {drain_s} s", file=sys.stderr)  # fmt: skip
    for part, g in growth.items():
        print(f"  {part:<17} private MB {g['anon_mb_first_minute']} -> {g['anon_mb_last_minute']}, "
              f"resident MB {g['rss_mb_first_minute']} -> {g['rss_mb_last_minute']}",
              file=sys.stderr)  # fmt: skip
    result = {
        "ok": ok,
        "run": run,
        "minutes": args.minutes,
        "rate_asked": args.rate,
        "rate_produced": produced_rate,
        "readers": args.readers,
        "think_s": args.think,
        "requests": len(samples),
        "errors": errors,
        "p50_ms": pct(lat, 0.5),
        "p95_ms": pct(lat, 0.95),
        "per_minute": minutes,
        "memory": growth,
        "behind_after_load": minutes[-1]["consumer_behind"] if minutes else None,
        "behind_final": behind,
        "drain_s": drain_s,
        "paths": len(plan),
        "left_out": left_out,
    }
    print(json.dumps(result, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
