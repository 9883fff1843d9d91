"""Health of every part the product needs; apps above add checks through `register_check`."""

import time

import redis
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.db import connection

BEAT_TICK_KEY = "molam:celery:beat:last_tick"

_extra_checks = {}
_admin_client = None


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
    if _admin_client is None:
        _admin_client = AdminClient(
            {
                "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                "socket.timeout.ms": 1500,
            }
        )
    metadata = _admin_client.list_topics(timeout=1.5)
    missing = [t for t in settings.KAFKA_EVENT_TOPICS if t not in metadata.topics]
    return not missing, {"brokers": len(metadata.brokers), "missing_topics": missing}


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
    "celery_worker": _celery_worker,
    "celery_beat": _celery_beat,
}
# The Celery checks travel over Redis: when Redis is down they fail with it
# rather than hang on retries.
NEEDS_REDIS = {"celery_worker", "celery_beat"}


def run_checks():
    """Run every check; returns (all_ok, {name: {"ok", "ms", ...}}). Never raises."""
    results = {}
    for name, fn in {**CORE_CHECKS, **_extra_checks}.items():
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
