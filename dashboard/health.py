"""Health of every part the product needs; apps above add checks through `register_check`."""

import os
import socket
import threading
import time

import redis
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.db import connection

BEAT_TICK_KEY = "molam:celery:beat:last_tick"

_extra_checks = {}
_admin_client = None
# {event topic: partition count} from this thread's last broker check (gthread
# workers answer several health requests at once).
_metadata = threading.local()


def register_check(name, fn):
    """Add a named check: `fn()` returns (ok: bool, info: dict). Used e.g. for snapshot age."""
    _extra_checks[name] = fn


def redis_client(*, timeout=0.5):
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def _database():
    with connection.cursor() as cur:
        cur.execute("SELECT postgis_lib_version()")
        return True, {"postgis": cur.fetchone()[0]}


def _redis():
    redis_client().ping()
    return True, {}


def _broker():
    global _admin_client
    _metadata.partitions = None
    if _admin_client is None:
        _admin_client = AdminClient(
            {
                "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                "socket.timeout.ms": 1500,
            }
        )
    metadata = _admin_client.list_topics(timeout=1.5)
    missing = [t for t in settings.KAFKA_EVENT_TOPICS if t not in metadata.topics]
    # Kept for the ingestion check of the same run: which partitions need a consumer.
    _metadata.partitions = {
        t: len(metadata.topics[t].partitions)
        for t in settings.KAFKA_EVENT_TOPICS
        if t in metadata.topics
    }
    return not missing, {"brokers": len(metadata.brokers), "missing_topics": missing}


def _pid_gone(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, TypeError):
        return False
    return False


def assess_consumer(c, *, now, here):
    """One consumer heartbeat (dashboard/ingest/heartbeat.py) -> (report entry, alive,
    problem or None). Also used by `manage.py ingest_health` (container probes)."""
    name = f"{c.get('host')}:{c.get('pid')}"
    last_commit = c.get("last_commit_at")
    entry = {
        "consumer": name,
        "state": c.get("state"),
        "heartbeat_age_s": c["age_s"],
        "partitions": c.get("assigned") or [],
        "lag": c.get("lag"),
        "last_commit_age_s": None if last_commit is None else round(now - last_commit, 1),
        "workers": c.get("workers") or [],
    }
    # A consumer on this host whose process is gone (killed) is dead now, not
    # when its heartbeat expires: shown, but not counted as live.
    if c.get("host") == here and _pid_gone(c.get("pid")):
        entry["state"] = "dead"
        return entry, False, None
    lag = sum(n for n in (c.get("lag") or {}).values() if n and n > 0)
    since = last_commit if last_commit is not None else c.get("started_at") or now
    if lag > 0 and now - since > settings.INGEST_STALL_S:
        idle = now - since
        problem = f"stalled: consumer {name} has lag {lag} and no offset commit for {idle:.0f} s"
        return entry, True, problem
    return entry, True, None


def _ingestion():
    """Every event-topic partition is read by a live consumer that keeps committing.

    Fails (naming the consumer or partition and the reason in `problems`) when no
    consumer of KAFKA_CONSUMER_GROUP has a live heartbeat (down), when a partition
    has been assigned to none of them for INGEST_UNASSIGNED_GRACE_S (unassigned),
    or when a consumer has lag and has not committed for INGEST_STALL_S (stalled).
    """
    from dashboard.ingest.heartbeat import consumers

    group = settings.KAFKA_CONSUMER_GROUP
    client = redis_client()
    now = time.time()
    here = socket.gethostname()
    problems, live, report = [], [], []
    for c in consumers(group, client=client):
        entry, alive, problem = assess_consumer(c, now=now, here=here)
        report.append(entry)
        if alive:
            live.append(c)
        if problem:
            problems.append(problem)
    if not live:
        problems.insert(0, f"down: no live consumer heartbeat in group {group}")

    info = {"group": group, "consumers": report}
    unassigned_key = f"molam:ingest:unassigned_since:{group}"
    partitions = getattr(_metadata, "partitions", None)
    if partitions is None:
        info["partitions"] = None  # broker unreachable: the broker check says so
    else:
        assigned = {p for c in live for p in c.get("assigned") or []}
        missing = [
            f"{t}:{p}" for t, n in sorted(partitions.items()) for p in range(n)
            if f"{t}:{p}" not in assigned
        ]  # fmt: skip
        info["partitions"] = dict(partitions)
        info["unassigned"] = missing
        if not missing:
            client.delete(unassigned_key)
        else:
            # Since when some partition has had no consumer, shared by every web process.
            client.set(unassigned_key, now, nx=True, ex=24 * 3600)
            since = float(client.get(unassigned_key) or now)
            info["unassigned_for_s"] = round(now - since, 1)
            if live and now - since > settings.INGEST_UNASSIGNED_GRACE_S:
                shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
                problems.append(
                    f"unassigned: {len(missing)} partition(s) read by no live consumer "
                    f"for {now - since:.0f} s ({shown})"
                )
    info["problems"] = problems
    return not problems, info


def _celery_worker():
    from config.celery import app

    # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
    replies = app.control.ping(timeout=1.0, limit=1)
    return bool(replies), {"workers": sorted(name for reply in replies for name in reply)}


def _celery_beat():
    raw = redis_client().get(BEAT_TICK_KEY)
    if raw is None:
        return False, {"last_tick_age_s": None}
    age = time.time() - float(raw)
    limit = 3 * settings.CELERY_HEARTBEAT_INTERVAL_S + 5
    return age <= limit, {"last_tick_age_s": round(age, 1), "max_age_s": limit}


CORE_CHECKS = {
    "database": _database,
    "redis": _redis,
    "broker": _broker,
    "ingestion": _ingestion,
    "celery_worker": _celery_worker,
    "celery_beat": _celery_beat,
}
# The Celery checks travel over Redis, and the consumers' heartbeats live there:
# when Redis is down they fail with it rather than hang on retries.
NEEDS_REDIS = {"ingestion", "celery_worker", "celery_beat"}


def run_checks(only=None):
    """Run every check (or those named in `only`, plus what they depend on); returns
    (all_ok, {name: {"ok", "ms", ...}}). Never raises."""
    checks = {**CORE_CHECKS, **_extra_checks}
    if only is not None:
        unknown = set(only) - set(checks)
        if unknown:
            raise KeyError(f"unknown health check(s): {', '.join(sorted(unknown))}")
        wanted = set(only)
        if wanted & NEEDS_REDIS:
            wanted.add("redis")
        if "ingestion" in wanted:
            wanted.add("broker")  # the partitions to cover come from its metadata
        checks = {name: fn for name, fn in checks.items() if name in wanted}
    results = {}
    for name, fn in checks.items():
        if name in NEEDS_REDIS and not results.get("redis", {}).get("ok"):
            results[name] = {"ok": False, "error": "redis unavailable"}
            continue
        started = time.perf_counter()
        try:
            ok, info = fn()
            entry = {"ok": bool(ok), **info}
        except Exception as exc:  # noqa: BLE001 - a failing part is reported, not raised
            entry = {"ok": False, "error": type(exc).__name__}
        entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = entry
    return all(r["ok"] for r in results.values()), results
