"""A real Celery worker and beat refresh the snapshots: a new event shows in the overview
within two refresh intervals."""

import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.db import connection

from dashboard.models import Snapshot
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    wiped_aggregates,  # noqa: F401
)

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 3

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ingest_clean", "wiped_aggregates", "clean_overview_cache"),
]


@pytest.fixture
def snapshot_worker(transactional_db, tmp_path):
    """Worker with embedded beat on the test database, refresh every INTERVAL_S seconds.

    Its own Redis database as Celery broker, so no other test's worker takes its tasks.
    """
    db = connection.settings_dict
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/13"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "SNAPSHOT_REFRESH_INTERVAL_S": str(INTERVAL_S),
        "SNAPSHOT_FULL_REFRESH_INTERVAL_S": "600",
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--beat", "-c", "1",
         "-l", "WARNING", "-n", f"snapshots-{uuid.uuid4().hex[:6]}@%h",
         "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def ingest(amount):
    from dashboard.ingest.services import ingest

    event = {
        "event_id": uuid.uuid4().hex, "type": "payment.succeeded", "source": "connect",
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=30)).isoformat(),
        "merchant_id": "m_c1", "country": "SN", "currency": "XOF", "amount": amount,
        "fee": "10", "cost": "2",
    }  # fmt: skip
    result = ingest([event])
    assert not getattr(result, "dead_letters", None), result


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def snapshot_gmv():
    body = (
        Snapshot.objects.filter(scope_kind="merchant", scope_id="m_c1", period="24h")
        .values_list("body", flat=True)
        .first()
    )
    return body and orjson.loads(body)["amounts"].get("XOF", {}).get("gmv")


def test_a_new_event_is_visible_in_the_overview_within_two_intervals(snapshot_worker, client_for):
    from accounts.models import User

    # A superuser: the role groups of the data migration are gone after an
    # earlier transactional test's flush.
    staff = User.objects.create_superuser("celery_staff", password="pw-test-1234")
    ingest("1000")
    # The worker's first beat ticks: the first event's snapshot appears.
    assert wait_for(lambda: snapshot_gmv() == "1000", timeout=30), snapshot_gmv()
    client = client_for(staff)

    def overview_gmv(scope):
        response = client.get("/api/dashboard/overview", {"scope": scope})
        return orjson.loads(response.content)["amounts"]["XOF"]["gmv"]

    assert overview_gmv("merchant:m_c1") == "1000"
    ingested_at = time.monotonic()
    ingest("234.5")
    for scope in ("merchant:m_c1", "platform", "region:SN"):
        assert wait_for(lambda s=scope: overview_gmv(s) == "1234.5", timeout=4 * INTERVAL_S)
        elapsed = time.monotonic() - ingested_at
        assert elapsed <= 2 * INTERVAL_S, f"{scope} visible after {elapsed:.1f} s"
    platform = orjson.loads(client.get("/api/dashboard/overview").content)
    assert platform["stale"] is False
    assert platform["top_merchants"][0]["merchant_id"] == "m_c1"
