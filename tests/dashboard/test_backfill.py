"""The demo history (`DemoWorld.history`, `manage.py backfill_demo`): its shape, its
incidents, determinism, the run-once marker, and a small history through the real
broker and consumer counted exactly as the generator made it."""

import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import orjson
import pytest
from confluent_kafka import Consumer
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard.ingest.consumer import EventConsumer
from dashboard.ingest.demo import (
    DEMO_AGENT,
    DEMO_BANK,
    DEMO_MERCHANT,
    FRAUD_BURST,
    PAYOUT_FAILURES,
    DemoWorld,
    intensity,
)
from dashboard.ingest.producer import consumer_group_behind
from dashboard.ingest.validation import FIGURES, loads, validate
from dashboard.models import DemoBackfill, DirtyScope, Snapshot
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    wiped_aggregates,  # noqa: F401
)

# A Monday, 10:20 UTC: the history's days and incidents fall on known weekdays.
END = datetime(2026, 11, 30, 10, 20, tzinfo=UTC)


def _at(event):
    return datetime.fromisoformat(event["occurred_at"])


@pytest.fixture(scope="module")
def fortnight():
    """Two weeks of history at a modest rate (about 60,000 events)."""
    world = DemoWorld(seed=42)
    return world, list(world.history(END, days=14, rate=0.05))


def test_history_is_in_time_order_inside_its_window_and_every_event_is_valid(fortnight):
    _, events = fortnight
    times = [_at(e) for e in events]
    assert times == sorted(times)
    assert END - timedelta(days=14) <= times[0] and times[-1] < END
    assert len({e["event_id"] for e in events}) == len(events)
    now = END + timedelta(minutes=1)
    for event in events[::50]:
        validate(loads(orjson.dumps(event)), now)  # raises Invalid on a contract breach
    # About rate x seconds, a little less for the growth towards the end.
    assert 0.85 * 0.05 * 14 * 86400 < len(events) < 1.0 * 0.05 * 14 * 86400


def test_history_has_quiet_nights_lunch_and_evening_peaks_and_quieter_weekends(fortnight):
    _, events = fortnight
    workday_hours, days = Counter(), Counter()
    for e in events:
        at = _at(e)
        days[at.date()] += 1
        if at.weekday() < 5:
            workday_hours[at.hour] += 1
    night = sum(workday_hours[h] for h in (1, 2, 3, 4)) / 4
    lunch = sum(workday_hours[h] for h in (12, 13)) / 2
    evening = sum(workday_hours[h] for h in (18, 19)) / 2
    afternoon = workday_hours[15]
    assert night / lunch < 0.1 and night / evening < 0.1
    assert afternoon < 0.8 * lunch and afternoon < 0.8 * evening  # two peaks, a dip between
    whole = [d for d in days if END.date() - timedelta(days=14) < d < END.date()]
    weekday = [days[d] for d in whole if d.weekday() < 5]
    sundays = [days[d] for d in whole if d.weekday() == 6]
    fridays = [days[d] for d in whole if d.weekday() == 4]
    assert max(sundays) < 0.7 * min(weekday)
    assert min(fridays) > sum(weekday) / len(weekday)
    # The live producer's shape is the history's: mean 1 over a week.
    week = [END + timedelta(hours=h) for h in range(7 * 24)]
    assert sum(intensity(t) for t in week) / len(week) == pytest.approx(1.0)


def test_history_has_the_payout_failure_spike_and_the_fraud_burst_at_their_hours(fortnight):
    world, events = fortnight
    spike, burst = world.incidents(END)
    assert spike.kind == PAYOUT_FAILURES and burst.kind == FRAUD_BURST
    assert spike.bank_id == DEMO_BANK and burst.merchant_id not in ("", DEMO_MERCHANT)
    # Both inside the last 7 days (the 7d overview shows them), on whole hours.
    for incident in (spike, burst):
        assert END - timedelta(days=7) < incident.start < incident.end < END
    failed = Counter()  # hour -> failed payouts of the bank in SN
    fraud = Counter()  # hour -> fraud flags of the burst's merchant
    fraud_elsewhere = Counter()
    for e in events:
        hour = _at(e).replace(minute=0, second=0, microsecond=0)
        if e["type"] == "payout.failed" and e.get("bank_id") == DEMO_BANK and e["country"] == "SN":
            failed[hour] += 1
        if e["type"] == "fraud.flagged":
            (fraud if e.get("merchant_id") == burst.merchant_id else fraud_elsewhere)[hour] += 1
    in_spike = [failed[spike.start + timedelta(hours=h)] for h in range(len(spike.shares))]
    same_hours_other_days = [
        failed[spike.start + timedelta(days=d, hours=h)]
        for d in (-3, -2, -1, 1, 2, 3)
        for h in range(len(spike.shares))
    ]
    assert max(in_spike) >= 10 and sum(in_spike) > 10 * max(1, sum(same_hours_other_days))
    in_burst = sum(fraud[burst.start + timedelta(hours=h)] for h in range(len(burst.shares)))
    assert in_burst >= 20
    # Concentrated: most of that merchant's fraud of the fortnight is in those hours,
    # and in those hours it outweighs the rest of the platform.
    assert in_burst > 0.8 * sum(fraud.values())
    others = sum(
        fraud_elsewhere[burst.start + timedelta(hours=h)] for h in range(len(burst.shares))
    )
    assert in_burst > 2 * others
    # The failing bank's ordinary payouts fail too during the spike.
    assert not [
        e
        for e in events
        if e["type"] == "payout.completed"
        and e.get("bank_id") == DEMO_BANK
        and e["country"] == "SN"
        and spike.start <= _at(e) < spike.end
    ]


def test_history_is_deterministic_for_a_seed_and_agents_keep_their_currency():
    def day(seed):
        return [orjson.dumps(e) for e in DemoWorld(seed=seed).history(END, days=1)]

    first = day(7)
    assert first == day(7)
    assert not {orjson.loads(b)["event_id"] for b in first} & {
        orjson.loads(b)["event_id"] for b in day(8)
    }
    currencies = defaultdict(set)
    for raw in first:
        e = orjson.loads(raw)
        if e["type"] == "agent.float_updated":
            currencies[e["agent_id"]].add(e["currency"])
    assert currencies and all(len(c) == 1 for c in currencies.values())


# ---------------------------------------------------------------- the command
def _read_all(topics, idle=3.0):
    """Every message of `topics` (read until `idle` seconds bring nothing new)."""
    c = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    c.subscribe(list(topics))
    out, last = [], time.monotonic()
    while time.monotonic() - last < (idle if out else 20):
        got = [m for m in c.consume(num_messages=1000, timeout=0.5) if m.error() is None]
        if got:
            out += got
            last = time.monotonic()
    c.close()
    return out


def _messages(topics):
    return len(_read_all(topics))


def _backfill(*args, topics):
    out = StringIO()
    call_command(
        "backfill_demo", *args, "--wallet-topic", topics[0], "--connect-topic", topics[1],
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_backfill_runs_once_resumes_an_unfinished_run_and_force_sends_another(make_topic):
    topics = (make_topic("w"), make_topic("c"))
    out = _backfill("--days", "1", "--rate", "0.01", topics=topics)
    run = DemoBackfill.objects.get()
    assert run.finished_at is not None and out.startswith(f"sent {run.events} events")
    expected = list(DemoWorld(seed=42).history(run.history_end, days=1, rate=0.01))
    assert run.events == len(expected) and _messages(topics) == len(expected)

    out = _backfill("--days", "1", "--rate", "0.01", topics=topics)
    assert "already sent" in out and "nothing to do" in out
    assert DemoBackfill.objects.count() == 1
    assert _messages(topics) == len(expected)

    # An interrupted run is finished with its own seed and end: the very same events.
    unfinished = DemoBackfill.objects.create(seed=5, history_end=END, days=1, rate=0.01)
    topics2 = (make_topic("w"), make_topic("c"))
    out = _backfill("--days", "3", "--seed", "9", topics=topics2)
    assert out.startswith("resuming")
    unfinished.refresh_from_db()
    same = list(DemoWorld(seed=5).history(END, days=1, rate=0.01))
    assert unfinished.finished_at is not None and unfinished.events == len(same)
    sent = [orjson.loads(m.value())["event_id"] for m in _read_all(topics2)]
    assert sorted(sent) == sorted(e["event_id"] for e in same)

    out = _backfill("--days", "1", "--rate", "0.01", "--force", topics=topics2)
    assert out.startswith("sent") and DemoBackfill.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_backfill_refuses_bad_arguments():
    with pytest.raises(CommandError, match="--days"):
        call_command("backfill_demo", "--days", "0")
    with pytest.raises(CommandError, match="--rate"):
        call_command("backfill_demo", "--rate", "0")
    assert not DemoBackfill.objects.exists()


def _contract(e):
    """What one event counts, from ../shared/contracts/events.md (written out independently)."""
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


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("ingest_clean", "wiped_aggregates", "clean_overview_cache")
def test_a_small_backfill_through_the_broker_and_consumer_counts_what_the_generator_made(
    make_topic, ingest_rows
):
    from agents.models import AgentFloatHour

    topics = (make_topic("w"), make_topic("c"))
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topics=list(topics),
        group_id=group,
        dlq_topic=make_topic("dlq"),
        batch_size=1000,
        until_idle=60,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
    )
    result = {}
    thread = threading.Thread(target=lambda: result.update(consumer.run()))
    thread.start()
    try:
        out = _backfill("--days", "2", "--rate", "0.03", "--wait", "90", "--group", group,
                        topics=topics)  # fmt: skip
    finally:
        consumer.request_stop()
        thread.join(60)
    assert "history counted and snapshots refreshed" in out
    run = DemoBackfill.objects.get()
    events = list(DemoWorld(seed=42).history(run.history_end, days=2, rate=0.03))
    assert 3000 < len(events) == run.events == result["counted"]
    assert result["dead_letters"] == 0 and result["duplicates"] == 0

    expected = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for e in events:
        for kind, sid in (("platform", ""), ("merchant", e.get("merchant_id")),
                          ("bank", e.get("bank_id")), ("agent", e.get("agent_id"))):  # fmt: skip
            if sid is not None:
                for figure, value in _contract(e).items():
                    expected[kind, sid][figure] += value
        for figure, value in _contract(e).items():
            expected["region", e["country"]][figure] += value
    for (kind, sid), totals in expected.items():
        if kind == "region":
            assert ingest_rows("platform", "", country=sid) == totals, sid
        else:
            assert ingest_rows(kind, sid) == totals, (kind, sid)
    assert expected["merchant", DEMO_MERCHANT]["success_count"] > 50

    # What --wait promises: everything committed by the group; every scope but the
    # agents (left to the worker), and the demo agent, refreshed over the history; the
    # platform's snapshot computed after and showing the history.
    ends = {}
    for m in _read_all(topics):
        ends[m.topic(), m.partition()] = max(
            ends.get((m.topic(), m.partition()), 0), m.offset() + 1
        )
    assert consumer_group_behind(group, ends) == 0
    left = set(
        DirtyScope.objects.filter(min_bucket__lt=run.history_end - timedelta(hours=1)).values_list(
            "scope_kind", "scope_id"
        )
    )
    assert {kind for kind, _ in left} <= {"agent"} and ("agent", DEMO_AGENT) not in left
    assert {kind for kind, _ in expected} == {"platform", "merchant", "bank", "agent", "region"}
    for kind, sid in (("platform", ""), ("merchant", DEMO_MERCHANT), ("bank", DEMO_BANK),
                      ("agent", DEMO_AGENT), ("region", "SN")):  # fmt: skip
        body = orjson.loads(Snapshot.objects.get(scope_kind=kind, scope_id=sid, period="30d").body)
        for figure in ("attempts", "success_count", "payouts_failed_count", "fraud_count"):
            assert body["counts"][figure] == expected[kind, sid][figure], (kind, sid, figure)
    # Float history over the whole stretch (the float treasury's chart).
    days = {h.date() for h in AgentFloatHour.objects.values_list("hour", flat=True)}
    assert len(days) >= 2
