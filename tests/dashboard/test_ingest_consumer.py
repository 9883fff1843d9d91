"""The Kafka consumer against the real broker and database: offsets, crashes, groups, DLQ."""

import json
import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from io import StringIO
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from common import dbroles
from dashboard.ingest.consumer import EventConsumer
from dashboard.models import DeadLetter
from tests.dashboard.kafka_reads import committed_total, event_consumer, produce, read_messages

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.timeout(120)]


def _read_all(topic, expected, timeout=20):
    return read_messages(topic, expected, timeout)


def _group_committed(topic, group, partitions=4):
    return committed_total(topic, group, partitions)


def test_consumer_counts_once_dead_letters_with_headers_and_commits_offsets(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    from prometheus_client import REGISTRY

    def metric(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    before = (
        metric("dashboard_ingest_dead_letters_total", reason="invalid_json"),
        metric("dashboard_ingest_duplicates_total"),
    )
    topic, dlq = make_topic("ev"), make_topic("dlq")
    good = [ingest_event("payment.succeeded", merchant_id="m_c1", amount="10") for _ in range(30)]
    bad = ingest_event("payment.succeeded", merchant_id="m_c1", currency="EURO")
    produce(topic, good[:10] + [b"not json", bad] + good[10:] + good[:5])
    group = f"g-{uuid.uuid4().hex[:8]}"
    stats = event_consumer([topic], group, dlq, processes=2, batch_size=8).run()
    assert stats["messages"] == 37 == _group_committed(topic, group)
    assert (stats["counted"], stats["duplicates"], stats["dead_letters"]) == (30, 5, 2)
    totals = ingest_rows("merchant", "m_c1")
    assert (totals["success_count"], totals["gmv"]) == (30, Decimal(300))
    letters = {d.reason: d for d in DeadLetter.objects.all()}
    assert set(letters) == {"invalid_json", "invalid_currency"}
    assert bytes(letters["invalid_json"].payload) == b"not json"
    assert letters["invalid_json"].topic == topic and letters["invalid_json"].offset is not None
    published = _read_all(dlq, 2)
    assert sorted(dict(m.headers())["reason"] for m in published) == [
        b"invalid_currency",
        b"invalid_json",
    ]
    assert b"not json" in [m.value() for m in published]
    assert metric("dashboard_ingest_dead_letters_total", reason="invalid_json") == before[0] + 1
    assert metric("dashboard_ingest_duplicates_total") == before[1] + 5
    assert metric("dashboard_ingest_events_total", topic=topic, type="payment.succeeded") == 35


def test_a_dead_worker_process_stops_the_consumer_without_committing_and_a_restart_is_exact(
    ingest_clean, ingest_event, ingest_rows, make_topic
):

    topic, dlq = make_topic("ev"), make_topic("dlq")
    group = f"g-{uuid.uuid4().hex[:8]}"
    produce(topic, [ingest_event("payment.failed", merchant_id="m_kill") for _ in range(3000)])

    class KillsItsWorkers(EventConsumer):
        """SIGKILLs every worker process right after the first batch is committed."""

        def _finish_oldest(self):
            super()._finish_oldest()
            if self.stats["batches"] == 1:
                for process in list(self._worker._processes.values()):
                    try:
                        os.kill(process.pid, signal.SIGKILL)
                    except ProcessLookupError:  # the pool already ended it
                        pass

    consumer = KillsItsWorkers(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=[topic],
        group_id=group,
        dlq_topic=dlq,
        batch_size=100,
        processes=2,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
    )
    with pytest.raises(RuntimeError, match="worker process died"):
        consumer.run()
    committed = _group_committed(topic, group)
    assert 100 <= committed < 3000  # the first batch, maybe a few more: never the lost ones
    assert ingest_rows("merchant", "m_kill")["failed_count"] >= committed

    rest = event_consumer([topic], group, dlq, processes=2).run()
    assert rest["messages"] == 3000 - committed
    assert ingest_rows("merchant", "m_kill")["failed_count"] == 3000
    assert _group_committed(topic, group) == 3000


def test_crash_between_db_commit_and_offset_commit_does_not_double_count(
    ingest_clean, ingest_event, ingest_rows, make_topic, monkeypatch
):
    topic, dlq = make_topic("ev"), make_topic("dlq")
    group = f"g-{uuid.uuid4().hex[:8]}"
    events = [ingest_event("payment.initiated", merchant_id="m_crash") for _ in range(200)]
    produce(topic, events)

    class Crash(BaseException):
        pass

    class CrashingConsumer(EventConsumer):
        """Dies like kill -9 right after the DB commit: offsets never reach Kafka."""

        def _commit_pending(self, only=None):
            if self._pending:
                raise Crash()
            return True

        def close(self):
            for future, *_ in self._inflight:
                future.result()
            self._inflight.clear()
            self._stop_worker()
            self._pending.clear()  # lost with the process
            self.consumer.close()

    crashing = CrashingConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=[topic],
        group_id=group,
        dlq_topic=dlq,
        batch_size=500,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
    )
    with pytest.raises(Crash):
        crashing.run()
    assert crashing.stats["messages"] == 0  # died inside the first batch
    assert ingest_rows("merchant", "m_crash")["attempts"] > 0  # ... after its DB commit
    assert _group_committed(topic, group) == 0

    stats = event_consumer([topic], group, dlq).run()
    assert stats["messages"] == 200  # everything redelivered
    assert stats["duplicates"] + stats["counted"] == 200 and stats["duplicates"] > 0
    assert ingest_rows("merchant", "m_crash")["attempts"] == 200
    assert _group_committed(topic, group) == 200


def test_two_consumers_in_one_group_give_the_exact_totals_of_one(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    topic = make_topic("ev", partitions=4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    events = []
    for n in range(400):
        events.append(
            ingest_event(
                "payment.succeeded",
                merchant_id=f"m_g{n % 8}",
                bank_id="b_sgbs",
                amount=f"{n}.25",
                fee="1.5",
            )
        )
    produce(topic, events + events[:50])  # 50 redeliveries
    # Two members as in production: two processes (one consumer per process; two
    # librdkafka consumers closing in one process can deadlock on the GIL).
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    command = [
        sys.executable, "manage.py", "consume_events", "--topics", topic, "--group-id", group,
        "--batch-size", "37", "--until-idle", "3", "--processes", "1", "--stats-json",
    ]  # fmt: skip
    members = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for member in members:
        try:
            out, _ = member.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            member.kill()
            out, _ = member.communicate()
        assert member.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len(results) == 2
    assert sum(r["counted"] for r in results) == 400
    bank = ingest_rows("bank", "b_sgbs")
    assert bank["success_count"] == 400
    assert bank["gmv"] == sum(Decimal(f"{n}.25") for n in range(400))
    assert bank["fees"] == Decimal("600.0")
    assert ingest_rows("platform")["success_count"] == 400


def test_worker_processes_meeting_the_same_ids_in_concurrent_batches_count_once(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    """Every event is delivered three times, the copies a few batches apart, so
    batches written at the same moment by different workers share ids: the
    seen-id COPY of one waits for the other's transaction, fails on the
    duplicate, rolls back to its savepoint and takes the fallback."""
    import random

    topic, dlq = make_topic("ev", partitions=1), make_topic("dlq")
    rng = random.Random(5)
    events = [
        ingest_event("payment.succeeded", merchant_id="m_conc", amount=f"{n}.5", fee="1")
        for n in range(600)
    ]
    stream = events + events[::-1] + rng.sample(events, len(events))
    produce(topic, stream)
    stats = event_consumer(
        [topic], f"g-{uuid.uuid4().hex[:8]}", dlq, processes=3, batch_size=90
    ).run()
    assert stats["messages"] == 1800
    assert (stats["counted"], stats["duplicates"]) == (600, 1200)
    assert stats["db_retries"] == 0  # ids locked in one global order: no deadlock
    totals = ingest_rows("merchant", "m_conc")
    assert totals["success_count"] == 600
    assert totals["gmv"] == sum(Decimal(f"{n}.5") for n in range(600))
    assert totals["fees"] == Decimal(600)


def test_database_outage_mid_batch_is_retried_without_loss(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    """The first write of a batch loses its connection mid-transaction, as in a
    database restart (a trigger terminates its own backend once): the worker
    process retries the same batch, which is counted once."""
    topic, dlq = make_topic("ev"), make_topic("dlq")
    produce(topic, [ingest_event("payout.failed", merchant_id="m_out") for _ in range(50)])
    with dbroles.as_owner(), connection.cursor() as cur:
        cur.execute(
            "CREATE SEQUENCE test_outage_once;"
            "GRANT USAGE ON SEQUENCE test_outage_once TO PUBLIC;"
            "CREATE FUNCTION test_outage_once() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF nextval('test_outage_once') = 1 THEN"
            " PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$;"
            "CREATE TRIGGER test_outage_once BEFORE INSERT ON dashboard_dirty_change"
            " FOR EACH ROW EXECUTE FUNCTION test_outage_once()"
        )
    try:
        stats = event_consumer([topic], f"g-{uuid.uuid4().hex[:8]}", dlq).run()
    finally:
        with dbroles.as_owner(), connection.cursor() as cur:
            cur.execute(
                "DROP TRIGGER test_outage_once ON dashboard_dirty_change;"
                "DROP FUNCTION test_outage_once(); DROP SEQUENCE test_outage_once"
            )
    assert stats["db_retries"] >= 1
    assert ingest_rows("merchant", "m_out")["payouts_failed_count"] == 50


def test_consume_events_command_stops_after_max_messages(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    topic = make_topic("ev")
    produce(topic, [ingest_event("payment.failed", merchant_id="m_cmd") for _ in range(25)])
    out = StringIO()
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        call_command(
            "consume_events",
            "--topics", topic,
            "--group-id", f"g-{uuid.uuid4().hex[:8]}",
            "--max-messages", "20",
            "--batch-size", "7",
            "--stats-json",
            stdout=out,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])
    stats = orjson.loads(out.getvalue().strip().splitlines()[-1])
    assert stats["messages"] == 20
    assert ingest_rows("merchant", "m_cmd")["failed_count"] == 20


def test_realistic_stream_with_duplicates_late_and_invalid_matches_an_independent_count(
    ingest_clean, ingest_rows, make_topic
):
    """The acceptance scenario: demo traffic with 10% redeliveries, 5% late (up to 3 days),
    5% invalid; every merchant's figures must equal a count made without our code."""
    import random

    from dashboard.ingest.demo import DemoWorld, message_key
    from dashboard.ingest.validation import FIGURES
    from dashboard.models import HourlyAggregate

    wallet, connect, dlq = make_topic("w"), make_topic("c"), make_topic("dlq")
    world = DemoWorld(seed=11, merchants=12, agents=20)
    rng = random.Random(5)
    valid, stream, invalid = [], [], 0
    for _ in range(1500):
        event = world.event(late_fraction=0.05)
        if rng.random() < 0.05:
            payload, _ = world.spoil(event)
            stream.append((event, payload if isinstance(payload, bytes) else orjson.dumps(payload)))
            invalid += 1
            continue
        valid.append(event)
        stream.append((event, orjson.dumps(event)))
        if rng.random() < 0.1:
            stream.append((event, orjson.dumps(event)))
    rng.shuffle(stream)
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "linger.ms": 5})
    for event, payload in stream:
        topic = wallet if event["source"] == "wallet" else connect
        producer.produce(topic, value=payload, key=message_key(event))
    assert producer.flush(10) == 0

    stats = event_consumer(
        [wallet, connect], f"g-{uuid.uuid4().hex[:8]}", dlq, batch_size=300
    ).run()
    assert stats["messages"] == len(stream)
    assert stats["dead_letters"] == invalid == DeadLetter.objects.count()
    assert stats["counted"] == len(valid)

    def contract(e):
        amt, fee = Decimal(e.get("amount", "0")), Decimal(e.get("fee", "0"))
        rev = fee - Decimal(e.get("cost", "0"))
        return {
            "payment.initiated": {"attempts": 1},
            "payment.succeeded": {"gmv": amt, "success_count": 1, "fees": fee, "revenue": rev},
            "payment.failed": {"failed_count": 1},
            "refund.succeeded": {"refunds_amount": amt, "refunds_count": 1},
            "dispute.opened": {"disputes_amount": amt, "disputes_count": 1},
            "payout.completed": {"payouts_amount": amt, "payouts_count": 1},
            "payout.failed": {"payouts_failed_count": 1},
            "fraud.flagged": {"fraud_amount": amt, "fraud_count": 1},
            "transfer.completed": {"gmv": amt, "success_count": 1, "fees": fee, "revenue": rev},
            "cash_in.completed": {"cash_in_amount": amt, "fees": fee, "revenue": rev},
            "cash_out.completed": {"cash_out_amount": amt, "fees": fee, "revenue": rev},
        }.get(e["type"], {})

    expected = {}
    for e in valid:
        for scope in ("platform", "merchant_id", "bank_id", "agent_id"):
            sid = "" if scope == "platform" else e.get(scope)
            if sid is None:
                continue
            kind = scope.removesuffix("_id")
            totals = expected.setdefault((kind, sid), dict.fromkeys(FIGURES, 0))
            for fig, value in contract(e).items():
                totals[fig] += value
    stored = set(HourlyAggregate.objects.values_list("scope_kind", "scope_id").distinct())
    assert stored == {k for k, v in expected.items() if any(v.values())}
    for (kind, sid), totals in expected.items():
        assert ingest_rows(kind, sid) == totals, (kind, sid)


def test_produce_events_writes_demo_traffic_with_asked_duplicates_and_invalid(
    ingest_clean, make_topic
):
    wallet, connect = make_topic("w"), make_topic("c")
    out = StringIO()
    call_command(
        "produce_events",
        "--count", "200", "--seed", "3", "--duplicates", "0.1", "--invalid", "0.1",
        "--wallet-topic", wallet, "--connect-topic", connect,
        stdout=out,
    )  # fmt: skip
    assert out.getvalue().startswith("produced 200 events")
    events = []
    for m in _read_all([wallet, connect], 200):
        try:
            events.append(orjson.loads(m.value()))
        except orjson.JSONDecodeError:
            continue
    assert 150 < len(events) < 200
    assert {e.get("source") for e in events if e.get("type", "").startswith("cash_")} <= {
        "wallet",
        None,  # an invalid one may lack its source
    }
    merchants = {e.get("merchant_id") for e in events}
    assert "m_1042" in merchants
    assert {e.get("country") for e in events} >= {"SN", "CI"}


@pytest.mark.timeout(240)
def test_sigterm_finishes_the_batch_and_a_restart_completes_exactly(
    ingest_clean, ingest_event, ingest_rows, make_topic
):
    import time

    topic, dlq = make_topic("ev"), make_topic("dlq")
    group = f"g-{uuid.uuid4().hex[:8]}"
    produce(topic, [ingest_event("payment.initiated", merchant_id="m_term") for _ in range(4000)])
    db = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        KAFKA_DLQ_TOPIC=dlq,
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "consume_events", "--topics", topic, "--group-id", group,
         "--batch-size", "50", "--stats-json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # (Spawning the worker processes takes long on a loaded machine.)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and ingest_rows("merchant", "m_term")["attempts"] == 0:
            time.sleep(0.1)
        assert ingest_rows("merchant", "m_term")["attempts"] > 0, "never started consuming"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    stats = orjson.loads(out.strip().splitlines()[-1])
    assert 0 < stats["messages"] < 4000  # stopped mid-stream, after whole batches
    assert _group_committed(topic, group) == stats["messages"]
    assert ingest_rows("merchant", "m_term")["attempts"] == stats["counted"] == stats["messages"]

    rest = event_consumer([topic], group, dlq).run()
    assert rest["messages"] == 4000 - stats["messages"]
    assert ingest_rows("merchant", "m_term")["attempts"] == 4000


def test_consumer_heartbeat_names_partitions_lag_workers_and_goes_away_on_close(
    ingest_clean, ingest_event, make_topic
):

    from dashboard.ingest import heartbeat

    topic, dlq = make_topic("ev"), make_topic("dlq")
    group = f"g-{uuid.uuid4().hex[:8]}"
    produce(topic, [ingest_event("payment.failed", merchant_id="m_hb") for _ in range(300)])
    seen, pids = [], []

    class Watched(EventConsumer):
        def _finish_oldest(self):
            super()._finish_oldest()
            if self.stats["batches"] == 1:
                # librdkafka's statistics (every 15 s): lag of two assigned partitions
                # and of one that is not ours (ignored).
                parts = {"0": {"consumer_lag": 5}, "1": {"consumer_lag": 7}, "-1": {}}
                self._assigned.discard((topic, 3))
                parts["3"] = {"consumer_lag": 1000}
                self._on_stats(orjson.dumps({"topics": {topic: {"partitions": parts}}}))
                self._assigned.add((topic, 3))
                self._beat(force=True)
                seen.extend(heartbeat.consumers(group))
                pids.extend(self._worker_pids)

    consumer = Watched(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=[topic],
        group_id=group,
        dlq_topic=dlq,
        batch_size=50,
        processes=2,
        until_idle=2,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
    )
    stats = consumer.run()
    assert stats["messages"] == 300
    (doc,) = seen
    assert doc["state"] == "running" and doc["topics"] == [topic]
    assert doc["assigned"] == [f"{topic}:{p}" for p in range(4)]
    assert doc["lag"] == {topic: 12}
    assert doc["last_commit_at"] is not None
    assert len(doc["workers"]) == 2 and doc["workers"] == sorted(pids)
    assert doc["pid"] == os.getpid() not in pids
    assert heartbeat.consumers(group) == []  # removed on close, not left to expire


def test_redis_down_never_stops_ingestion(
    ingest_clean, ingest_event, ingest_rows, make_topic, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    topic, dlq = make_topic("ev"), make_topic("dlq")
    produce(topic, [ingest_event("payment.failed", merchant_id="m_noredis") for _ in range(60)])
    stats = event_consumer([topic], f"g-{uuid.uuid4().hex[:8]}", dlq, batch_size=20).run()
    assert stats["messages"] == 60
    assert ingest_rows("merchant", "m_noredis")["failed_count"] == 60
