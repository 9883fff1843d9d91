"""The consumers' heartbeats (dashboard/ingest/heartbeat.py) and the health check `ingestion`
that reads them, against the real Redis and broker: down, unassigned, stalled, healthy."""

import io
import socket
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient
from django.core.management import CommandError, call_command

from dashboard.health import redis_client
from dashboard.ingest import heartbeat
from dashboard.ingest.heartbeat import Heartbeat, consumers


@pytest.fixture
def group(settings):
    """A consumer group of this test alone; health reads it through KAFKA_CONSUMER_GROUP."""
    name = f"hb-{uuid.uuid4().hex[:10]}"
    settings.KAFKA_CONSUMER_GROUP = name
    r = redis_client()  # now: a test may point REDIS_URL elsewhere
    yield name
    for key in r.scan_iter(match=f"{heartbeat.KEY_PREFIX}{name}:*"):
        r.delete(key)
    r.delete(f"molam:ingest:unassigned_since:{name}", heartbeat.index_for(name))


@pytest.fixture
def event_partitions(settings):
    """Every (topic, partition) of the event topics, from the broker's metadata."""
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    metadata = admin.list_topics(timeout=5)
    return {(t, p) for t in settings.KAFKA_EVENT_TOPICS for p in metadata.topics[t].partitions}


def _ingestion(api_client):
    response = api_client.get("/api/dashboard/health")
    body = response.json()
    return response.status_code, body, body["checks"]["ingestion"]


# ------------------------------------------------------------------ heartbeat


def test_heartbeat_is_written_with_a_ttl_rate_limited_and_removed_on_stop(group, settings):
    hb = Heartbeat(group=group, topics=["wallet.events"])
    assert hb.beat(
        assigned={("wallet.events", 1), ("wallet.events", 0)},
        lag={"wallet.events": 7},
        last_commit_at=123.5,
        workers=[42, 41],
    )
    (doc,) = consumers(group)
    assert doc["group"] == group and doc["pid"] == hb.pid and doc["host"] == socket.gethostname()
    assert doc["assigned"] == ["wallet.events:0", "wallet.events:1"]
    assert doc["lag"] == {"wallet.events": 7}
    assert doc["last_commit_at"] == 123.5 and doc["workers"] == [41, 42]
    assert doc["state"] == "running" and doc["topics"] == ["wallet.events"]
    assert doc["age_s"] < 2
    ttl = redis_client().ttl(hb.key)
    assert 0 < ttl <= settings.INGEST_HEARTBEAT_TTL_S

    # Within the interval a beat is skipped, unless forced or the state changes.
    kwargs = {"assigned": set(), "lag": None, "last_commit_at": None, "workers": []}
    assert hb.beat(**kwargs) is False
    assert consumers(group)[0]["assigned"] == ["wallet.events:0", "wallet.events:1"]
    assert hb.beat(**kwargs, state="stopping") is True
    assert consumers(group)[0]["state"] == "stopping"
    assert hb.beat(**kwargs, force=True) is True
    assert consumers(group)[0]["assigned"] == []

    hb.stop()
    assert consumers(group) == []
    assert redis_client().zcard(heartbeat.index_for(group)) == 0


def test_a_heartbeat_older_than_the_ttl_leaves_the_group_index(group, settings):
    stale = {"group": group, "host": "gone", "pid": 7, "heartbeat_at": time.time() - 31}
    heartbeat.write(stale)
    assert redis_client().zcard(heartbeat.index_for(group)) == 1
    settings.INGEST_HEARTBEAT_TTL_S = 30
    assert consumers(group) == []
    assert redis_client().zcard(heartbeat.index_for(group)) == 0


def test_heartbeat_never_raises_when_redis_is_down(group, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    hb = Heartbeat(group=group, topics=["wallet.events"])
    assert hb.beat(assigned=set(), lag=None, last_commit_at=None, workers=[]) is False
    hb.stop()  # no exception either


def test_consumers_of_a_group_exclude_a_group_whose_name_extends_it(group):
    a = Heartbeat(group=group, topics=[])
    b = Heartbeat(group=f"{group}:x", topics=[])
    for hb in (a, b):
        hb.beat(assigned=set(), lag=None, last_commit_at=None, workers=[])
    try:
        assert [d["group"] for d in consumers(group)] == [group]
        assert {d["group"] for d in consumers()} >= {group, f"{group}:x"}
    finally:
        b.stop()


# ------------------------------------------------------------------ health check


def test_no_consumer_heartbeat_is_503_naming_ingestion_down(api_client, db, group):
    status, body, check = _ingestion(api_client)
    assert status == 503
    assert "ingestion" in body["failing"]
    assert check["ok"] is False
    assert check["consumers"] == []
    assert check["problems"][0] == f"down: no live consumer heartbeat in group {group}"


def test_a_consumer_whose_process_is_gone_is_down_before_its_heartbeat_expires(
    api_client, db, group
):
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    doc = {"group": group, "host": socket.gethostname(), "pid": dead_pid, "topics": [],
           "assigned": [], "lag": None, "last_commit_at": None, "heartbeat_at": time.time(),
           "workers": [], "state": "running", "started_at": time.time()}  # fmt: skip
    heartbeat.write(doc)
    status, body, check = _ingestion(api_client)
    assert status == 503 and "ingestion" in body["failing"]
    assert check["consumers"][0]["state"] == "dead"
    assert check["problems"][0].startswith("down: no live consumer heartbeat")


def test_partitions_assigned_to_no_consumer_fail_after_the_grace_period(
    api_client, db, group, event_partitions, settings
):
    hb = Heartbeat(group=group, topics=settings.KAFKA_EVENT_TOPICS)
    missing = max(event_partitions)
    hb.beat(
        assigned=event_partitions - {missing},
        lag={t: 0 for t in settings.KAFKA_EVENT_TOPICS},
        last_commit_at=time.time(),
        workers=[],
    )
    # Within the grace period (start-up, a rebalance) the check stays green.
    settings.INGEST_UNASSIGNED_GRACE_S = 60
    _, _, check = _ingestion(api_client)
    assert check["ok"] is True, check
    assert check["unassigned"] == [f"{missing[0]}:{missing[1]}"]
    assert check["unassigned_for_s"] >= 0

    settings.INGEST_UNASSIGNED_GRACE_S = 0
    time.sleep(0.05)
    status, body, check = _ingestion(api_client)
    assert status == 503 and "ingestion" in body["failing"]
    (problem,) = check["problems"]
    assert problem.startswith("unassigned: 1 partition(s) read by no live consumer")
    assert f"{missing[0]}:{missing[1]}" in problem

    # Once every partition has a consumer, the clock is reset.
    hb.beat(assigned=event_partitions, lag=None, last_commit_at=time.time(), workers=[], force=True)
    _, _, check = _ingestion(api_client)
    assert check["ok"] is True and check["unassigned"] == []
    assert redis_client().get(f"molam:ingest:unassigned_since:{group}") is None
    hb.stop()


def test_a_consumer_with_lag_that_does_not_commit_is_stalled(
    api_client, db, group, event_partitions, settings
):
    hb = Heartbeat(group=group, topics=settings.KAFKA_EVENT_TOPICS)
    topic = settings.KAFKA_EVENT_TOPICS[0]
    hb.beat(
        assigned=event_partitions,
        lag={topic: 1234},
        last_commit_at=time.time() - settings.INGEST_STALL_S - 5,
        workers=[],
    )
    status, body, check = _ingestion(api_client)
    assert status == 503 and "ingestion" in body["failing"]
    (problem,) = check["problems"]
    assert problem.startswith(f"stalled: consumer {hb.host}:{hb.pid} has lag 1234 and no offset")
    assert check["consumers"][0]["last_commit_age_s"] >= settings.INGEST_STALL_S

    # The same lag with a recent commit is a consumer catching up: healthy.
    hb.beat(assigned=event_partitions, lag={topic: 1234}, last_commit_at=time.time(),
            workers=[], force=True)  # fmt: skip
    _, _, check = _ingestion(api_client)
    assert check["ok"] is True, check
    hb.stop()


def test_a_live_consumer_reading_every_partition_is_healthy(
    api_client, db, group, event_partitions, settings
):
    hb = Heartbeat(group=group, topics=settings.KAFKA_EVENT_TOPICS)
    hb.beat(
        assigned=event_partitions,
        lag={t: 0 for t in settings.KAFKA_EVENT_TOPICS},
        last_commit_at=time.time() - 5,
        workers=[11, 12],
    )
    _, body, check = _ingestion(api_client)
    assert "ingestion" not in body["failing"]
    assert check["ok"] is True and check["problems"] == []
    (consumer,) = check["consumers"]
    assert consumer["consumer"] == f"{hb.host}:{hb.pid}"
    assert sorted(consumer["partitions"]) == sorted(f"{t}:{p}" for t, p in event_partitions)
    assert consumer["lag"] == {t: 0 for t in settings.KAFKA_EVENT_TOPICS}
    assert 4 <= consumer["last_commit_age_s"] < 30
    assert consumer["heartbeat_age_s"] < 2 and consumer["workers"] == [11, 12]
    assert check["unassigned"] == []
    hb.stop()


# ------------------------------------------------------------------ probes (commands)


def _command(*args):
    """(exit code, stdout, stderr) of a management command run in this process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_ingest_health_probe_exits_1_without_a_live_heartbeat_of_this_host(db, group):
    code, _, err = _command("ingest_health", "--this-host")
    assert code == 1
    assert f"down: no live consumer heartbeat in group {group} on {socket.gethostname()}" in err

    # A consumer of another host (another container) does not make this one live.
    doc = {"group": group, "host": "elsewhere", "pid": 1, "topics": [], "assigned": [],
           "lag": None, "last_commit_at": None, "heartbeat_at": time.time(), "workers": [],
           "state": "running", "started_at": time.time()}  # fmt: skip
    heartbeat.write(doc)
    assert _command("ingest_health", "--this-host")[0] == 1
    assert _command("ingest_health")[0] == 0

    hb = Heartbeat(group=group, topics=["wallet.events"])
    hb.beat(assigned={("wallet.events", 0)}, lag={"wallet.events": 0}, last_commit_at=None,
            workers=[])  # fmt: skip
    code, out, err = _command("ingest_health", "--this-host")
    assert code == 0, err
    assert f"{hb.host}:{hb.pid} running" in out and "1 partition(s)" in out
    hb.stop()


def test_ingest_health_probe_exits_1_for_a_stalled_consumer(db, group, settings):
    hb = Heartbeat(group=group, topics=["wallet.events"])
    hb.beat(assigned={("wallet.events", 0)}, lag={"wallet.events": 9},
            last_commit_at=time.time() - settings.INGEST_STALL_S - 1, workers=[])  # fmt: skip
    code, _, err = _command("ingest_health", "--this-host")
    assert code == 1
    assert f"stalled: consumer {hb.host}:{hb.pid} has lag 9" in err
    hb.stop()


def test_health_check_command_runs_the_named_checks(db, group):
    code, out, _ = _command("health_check", "redis")
    assert code == 0 and out.startswith("redis")
    code, out, _ = _command("health_check", "ingestion")
    assert code == 1
    assert {line.split()[0] for line in out.splitlines()} == {"redis", "broker", "ingestion"}
    assert "ingestion      FAIL" in out
    with pytest.raises(CommandError, match="unknown health check"):
        call_command("health_check", "nope")
