"""Snapshot age: a health check and a Prometheus gauge (read at scrape time)."""

import time

from django.conf import settings
from django.db.models import Min
from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily

from dashboard.models import Snapshot
from dashboard.snapshots import cache


def snapshot_ages():
    """{"platform_age_s", "oldest_computed_age_s"} from the snapshot table and the tick."""
    now = time.time()
    oldest_at = Snapshot.objects.aggregate(oldest=Min("computed_at"))["oldest"]
    platform = (
        Snapshot.objects.filter(scope_kind="platform", period="24h")
        .values_list("computed_at", "window_to")
        .first()
    )
    try:
        tick = cache.fetch("platform", "24h")[1]
    except Exception:  # noqa: BLE001 - Redis down: age from the table alone
        tick = None
    platform_age = None
    if platform:
        platform_age = cache.freshness_age(
            platform[0].timestamp(), platform[1].timestamp(), tick, now
        )
    oldest = now - oldest_at.timestamp() if oldest_at else None
    return {"platform_age_s": platform_age, "oldest_computed_age_s": oldest}


def snapshot_health():
    """OK when the platform snapshot is younger than two refresh intervals (plus slack)."""
    ages = snapshot_ages()
    limit = 2 * settings.SNAPSHOT_REFRESH_INTERVAL_S + 5
    age = ages["platform_age_s"]
    return age is not None and age <= limit, {
        "age_s": None if age is None else round(age, 1),
        "max_age_s": limit,
    }


class SnapshotAgeCollector:
    """Exports molam_snapshot_age_seconds{which=platform|oldest} at each /metrics scrape."""

    def describe(self):
        # Declared so registering the collector does not query the database.
        return [GaugeMetricFamily("molam_snapshot_age_seconds", "", labels=["which"])]

    def collect(self):
        try:
            ages = snapshot_ages()
        except Exception:  # noqa: BLE001 - a scrape must not fail on a database hiccup
            return
        gauge = GaugeMetricFamily(
            "molam_snapshot_age_seconds",
            "Seconds since the overview snapshot was last known current",
            labels=["which"],
        )
        if ages["platform_age_s"] is not None:
            gauge.add_metric(["platform"], ages["platform_age_s"])
        if ages["oldest_computed_age_s"] is not None:
            gauge.add_metric(["oldest"], ages["oldest_computed_age_s"])
        yield gauge


# Set by whichever process computes a snapshot; "mostrecent" keeps it right
# under PROMETHEUS_MULTIPROC_DIR (make up), where django_prometheus exports
# only the multiprocess registry and not the collector above.
# Age in PromQL: time() - molam_snapshot_computed_timestamp_seconds.
SNAPSHOT_COMPUTED = Gauge(
    "molam_snapshot_computed_timestamp_seconds",
    "Unix time the snapshots of a scope kind were last computed",
    ["scope_kind"],
    multiprocess_mode="mostrecent",
)
