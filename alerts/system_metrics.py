"""System figures alert rules can watch (platform scope only), by name.

The apps above alerts register theirs in AppConfig.ready() (opsactions: ops actions
waiting for approval, outbox backlog) so that alerts never imports them:

    register_system_metric("outbox_backlog", fn)

`fn(now=..., window=...)` returns a Decimal (or None: no data).
"""

from decimal import Decimal

_METRICS = {}


def register_system_metric(name, fn, *, description=""):
    """Register (or replace) the system figure `name`."""
    _METRICS[name] = (fn, description)


def system_metric(name):
    entry = _METRICS.get(name)
    return entry[0] if entry else None


def system_metric_names():
    return sorted(_METRICS)


def _snapshot_age_s(*, now, window):
    """Seconds since the platform snapshot was last known current (the snapshot health
    check's figure: a clean refresh run vouches for unchanged scopes); None: no snapshot."""
    from dashboard.snapshots.health import snapshot_ages

    age = snapshot_ages()["platform_age_s"]
    return None if age is None else Decimal(str(round(age, 1)))


def _dead_letters_per_minute(*, now, window):
    from dashboard.models import DeadLetter

    n = DeadLetter.objects.filter(received_at__gt=now - window, received_at__lte=now).count()
    minutes = Decimal(str(max(window.total_seconds(), 60) / 60))
    return (Decimal(n) / minutes).quantize(Decimal("0.001"))


def _consumer_stalled(*, now, window):
    """1 when the ingestion health check reports a stalled consumer (lag and no commit
    for INGEST_STALL_S), else 0. A consumer that is down is the health check's alarm."""
    from dashboard.health import run_checks

    _ok, results = run_checks(only=["ingestion"])
    problems = (results.get("ingestion") or {}).get("problems") or []
    return Decimal(1 if any(p.startswith("stalled") for p in problems) else 0)


def _consumer_lag(*, now, window):
    """Messages behind, summed over the live consumers' partitions (their heartbeats)."""
    from django.conf import settings

    from dashboard.health import redis_client
    from dashboard.ingest.heartbeat import consumers

    total = 0
    for c in consumers(settings.KAFKA_CONSUMER_GROUP, client=redis_client()):
        total += sum(n for n in (c.get("lag") or {}).values() if n and n > 0)
    return Decimal(total)


register_system_metric("snapshot_age_s", _snapshot_age_s)
register_system_metric("dead_letters_per_minute", _dead_letters_per_minute)
register_system_metric("consumer_stalled", _consumer_stalled)
register_system_metric("consumer_lag", _consumer_lag)
