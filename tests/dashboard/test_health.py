"""Health against the real parts: green with a real worker, beat and consumer, 503 naming a
dead part."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def celery_worker_and_beat(transactional_db, tmp_path):
    """A real worker with embedded beat, heartbeat every second, on the test database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_HEARTBEAT_INTERVAL_S": "1",
        "SNAPSHOT_REFRESH_INTERVAL_S": "2",
        "SNAPSHOT_FULL_REFRESH_INTERVAL_S": "3",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "-c",
            "1",
            "-l",
            "WARNING",
            "-n",
            f"health-{os.getpid()}@%h",
            "-s",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def consumer_process(transactional_db, make_topic, settings):
    """A real `consume_events` on two fresh event topics and its own group (health reads
    these through KAFKA_EVENT_TOPICS / KAFKA_CONSUMER_GROUP)."""
    topics = [make_topic("health.wallet", 2), make_topic("health.connect", 2)]
    group = f"health-{uuid.uuid4().hex[:10]}"
    settings.KAFKA_EVENT_TOPICS = topics
    settings.KAFKA_CONSUMER_GROUP = group
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KAFKA_EVENT_TOPICS": ",".join(topics),
        "KAFKA_CONSUMER_GROUP": group,
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "consume_events", "--processes", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    from dashboard.health import redis_client

    redis_client().delete(f"molam:ingest:unassigned_since:{group}")


def _health_until(api_client, want_status, seconds, until=lambda body: True):
    deadline = time.monotonic() + seconds
    while True:
        response = api_client.get("/api/dashboard/health")
        done = response.status_code == want_status and until(response.json())
        if done or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def _assigned_partitions(body):
    consumers = body["checks"].get("ingestion", {}).get("consumers") or [{}]
    return len(consumers[0].get("partitions") or [])


def test_health_is_green_with_every_part_running_and_names_a_killed_consumer(
    api_client, celery_worker_and_beat, consumer_process, settings
):
    settings.CELERY_HEARTBEAT_INTERVAL_S = 1
    settings.SNAPSHOT_REFRESH_INTERVAL_S = 2
    # Green already while the consumer joins its group (a grace period for
    # unassigned partitions); wait until it holds its four partitions.
    response = _health_until(api_client, 200, 90, until=lambda b: _assigned_partitions(b) == 4)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {"database", "redis", "broker", "ingestion", "celery_worker", "celery_beat"} <= set(
        body["checks"]
    )
    assert all(check["ok"] for check in body["checks"].values())
    (consumer,) = body["checks"]["ingestion"]["consumers"]
    assert consumer["consumer"].endswith(f":{consumer_process.pid}")
    assert len(consumer["partitions"]) == 4  # two topics of two partitions
    assert body["checks"]["ingestion"]["unassigned"] == []

    # SIGKILL: no clean exit, no heartbeat removal. Health names it within the TTL.
    killed_at = time.monotonic()
    consumer_process.send_signal(signal.SIGKILL)
    consumer_process.wait(timeout=10)
    response = _health_until(api_client, 503, settings.INGEST_HEARTBEAT_TTL_S)
    assert time.monotonic() - killed_at <= settings.INGEST_HEARTBEAT_TTL_S
    body = response.json()
    assert response.status_code == 503, body
    assert body["failing"] == ["ingestion"]
    problems = body["checks"]["ingestion"]["problems"]
    assert (
        problems[0] == f"down: no live consumer heartbeat in group {settings.KAFKA_CONSUMER_GROUP}"
    )


@pytest.mark.skipif(
    not shutil.which("redis-server"), reason="redis-server is installed by make test"
)
def test_health_is_503_naming_redis_when_redis_is_stopped(api_client, db, settings, tmp_path):
    port = _free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        assert api_client.get("/api/dashboard/health").json()["checks"]["redis"]["ok"] is True
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    try:
        response = api_client.get("/api/dashboard/health")
    finally:
        # Long-lived Redis clients of the app were made from the overridden URL.
        from dashboard.snapshots import cache

        cache._client = None
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert "redis" in body["failing"]
    assert body["checks"]["database"]["ok"] is True


def test_health_is_503_naming_the_broker_when_it_is_unreachable(api_client, db, settings):
    from dashboard import health

    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{_free_port()}"
    health._admin_client = None
    try:
        response = api_client.get("/api/dashboard/health")
    finally:
        health._admin_client = None
    assert response.status_code == 503
    assert "broker" in response.json()["failing"]


def test_health_reveals_no_secrets(api_client, db, settings):
    text = api_client.get("/api/dashboard/health").content.decode()
    assert settings.SECRET_KEY not in text
    assert "molam:molam" not in text and "password" not in text.lower()


def test_ping_is_a_constant_unauthenticated_answer(api_client):
    response = api_client.get("/api/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "molam-dashboard"}
