"""Seen-id retention and partition upkeep: bounded store, idempotency across partition changes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from dashboard.ingest.maintenance import partitions_maintain
from dashboard.ingest.services import aggregate_event
from dashboard.partitions import SEEN_TABLE, create_seen_partition, list_partitions

pytestmark = pytest.mark.django_db


def _partitions(table=SEEN_TABLE):
    with connection.cursor() as cur:
        return set(list_partitions(cur, table))


def _seen(event_id):
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT tableoid::regclass::text FROM {SEEN_TABLE} WHERE event_id = %s", [event_id]
        )
        return [r[0] for r in cur.fetchall()]


def test_maintain_creates_coming_days_and_months(settings):
    now = datetime.now(UTC)
    partitions_maintain(now=now)
    parts = _partitions()
    for n in range(0, 4):
        assert f"{SEEN_TABLE}_p{(now + timedelta(days=n)):%Y%m%d}" in parts
    assert (
        f"{SEEN_TABLE}_p{now - timedelta(days=settings.SEEN_EVENT_RETENTION_DAYS):%Y%m%d}" in parts
    )
    assert "dashboard_hourly_aggregate_p" + f"{now:%Y%m}" in _partitions(
        "dashboard_hourly_aggregate"
    )
    assert partitions_maintain(now=now)["created"] == []  # idempotent


def test_expired_day_is_dropped_but_ids_seen_within_retention_still_deduplicate(
    ingest_event, settings
):
    settings.SEEN_EVENT_RETENTION_DAYS = 7
    now = datetime.now(UTC)
    old_day = (now - timedelta(days=9)).date()
    with connection.cursor() as cur:
        create_seen_partition(cur, old_day)
    old_partition = f"{SEEN_TABLE}_p{old_day:%Y%m%d}"
    # Two events of that day: one counted 9 days ago, one arriving late, today.
    ts = datetime.combine(old_day, datetime.min.time(), UTC) + timedelta(hours=10)
    late = ingest_event(occurred_at=ts.isoformat(), merchant_id="m_ret")
    ancient = ingest_event(occurred_at=ts.isoformat(), merchant_id="m_ret")
    assert aggregate_event(late).counted == 1
    assert aggregate_event(ancient).counted == 1
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {SEEN_TABLE} SET seen_at = %s WHERE event_id = %s",
            [now - timedelta(days=9), ancient["event_id"]],
        )
    assert _seen(late["event_id"]) == [old_partition]

    report = partitions_maintain(now=now)

    assert old_partition in report["dropped"] and old_partition not in _partitions()
    assert _seen(late["event_id"]) == [f"{SEEN_TABLE}_default"]  # kept: seen 0 days ago
    assert _seen(ancient["event_id"]) == []  # seen 9 days ago: past retention
    assert aggregate_event(late).counted == 0  # still deduplicated after the drop


def test_event_older_than_the_window_is_deduplicated_in_the_default_partition(ingest_event):
    ts = datetime.now(UTC) - timedelta(days=30)
    event = ingest_event(occurred_at=ts.isoformat(), merchant_id="m_old")
    assert aggregate_event(event).counted == 1
    assert _seen(event["event_id"]) == [f"{SEEN_TABLE}_default"]
    assert aggregate_event(event).counted == 0
    assert f"{SEEN_TABLE}_p{ts:%Y%m%d}" not in _partitions()  # no partition for a dead day


def test_default_partition_is_pruned_after_retention(ingest_event, settings):
    now = datetime.now(UTC)
    event = ingest_event(occurred_at=(now - timedelta(days=40)).isoformat())
    aggregate_event(event)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {SEEN_TABLE} SET seen_at = %s WHERE event_id = %s",
            [now - timedelta(days=settings.SEEN_EVENT_RETENTION_DAYS, hours=1), event["event_id"]],
        )
    partitions_maintain(now=now)
    assert _seen(event["event_id"]) == []


def test_maintain_partitions_is_the_scheduled_task_name():
    import dashboard.tasks  # noqa: F401
    from config.celery import app

    assert "dashboard.tasks.maintain_partitions" in app.tasks
