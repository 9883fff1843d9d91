"""Seen-id retention and partition upkeep: bounded store, idempotency across partition changes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from dashboard.ingest.maintenance import partitions_maintain
from dashboard.ingest.services import ingest
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
    assert ingest([late]).counted == 1
    assert ingest([ancient]).counted == 1
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
    assert ingest([late]).counted == 0  # still deduplicated after the drop


def test_event_older_than_the_window_is_deduplicated_in_the_default_partition(ingest_event):
    ts = datetime.now(UTC) - timedelta(days=30)
    event = ingest_event(occurred_at=ts.isoformat(), merchant_id="m_old")
    assert ingest([event]).counted == 1
    assert _seen(event["event_id"]) == [f"{SEEN_TABLE}_default"]
    assert ingest([event]).counted == 0
    assert f"{SEEN_TABLE}_p{ts:%Y%m%d}" not in _partitions()  # no partition for a dead day


def test_default_partition_is_pruned_after_retention(ingest_event, settings):
    now = datetime.now(UTC)
    event = ingest_event(occurred_at=(now - timedelta(days=40)).isoformat())
    ingest([event])
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


# ---------------------------------------------------------------- retention (docs/retention.md)


def _dead_letter(received_at, status="pending", tag="x"):
    from dashboard.models import DeadLetter

    return DeadLetter.objects.create(
        received_at=received_at,
        payload=f"not json {tag}".encode(),
        reason="invalid_json",
        status=status,
    )


def test_dead_letters_past_retention_are_deleted_and_newer_ones_kept(settings):
    from dashboard.ingest.maintenance import dead_letters_expire
    from dashboard.models import DeadLetter

    settings.DEAD_LETTER_RETENTION_DAYS = 30
    now = datetime.now(UTC)
    old = [
        _dead_letter(now - timedelta(days=31), tag="a"),
        _dead_letter(now - timedelta(days=400), status="reprocessed", tag="b"),
        _dead_letter(now - timedelta(days=30, seconds=1), status="still_invalid", tag="c"),
    ]
    kept = [_dead_letter(now - timedelta(days=29, hours=23), tag="d"), _dead_letter(now, tag="e")]
    assert dead_letters_expire(now=now, batch=2) == len(old)  # several batches
    assert set(DeadLetter.objects.values_list("id", flat=True)) == {d.id for d in kept}
    assert dead_letters_expire(now=now) == 0


def _agg_rows(merchant):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tableoid::regclass::text, bucket FROM dashboard_hourly_aggregate "
            "WHERE scope_kind = 'merchant' AND scope_id = %s ORDER BY bucket",
            [merchant],
        )
        return cur.fetchall()


def _rollup_buckets(table, merchant):
    with connection.cursor() as cur:
        cur.execute(f"SELECT bucket FROM {table} WHERE scope_id = %s ORDER BY bucket", [merchant])
        return [r[0] for r in cur.fetchall()]


def test_figures_past_retention_drop_whole_partitions_and_keep_the_rest(ingest_event, settings):
    from dashboard.ingest.maintenance import AGGREGATE_ROLLUP_TABLES, aggregates_expire
    from dashboard.partitions import add_months, create_month_partition, month_start

    settings.AGGREGATE_RETENTION_MONTHS = 3
    now = datetime.now(UTC)
    this_month = month_start(now.date())
    expired_month = add_months(this_month, -5)  # own partition: dropped whole
    default_month = add_months(this_month, -40)  # no partition: its rows sit in the default one
    kept_month = add_months(this_month, -3)  # the first month kept
    with connection.cursor() as cur:
        for m in (expired_month, kept_month):
            create_month_partition(cur, "dashboard_hourly_aggregate", m)
    at = {
        m: datetime(m.year, m.month, 2, 10, 30, tzinfo=UTC)
        for m in (expired_month, default_month, kept_month)
    }
    for t in at.values():
        assert ingest([ingest_event(occurred_at=t.isoformat(), merchant_id="m_keep")]).counted
    hour = {m: t.replace(minute=0) for m, t in at.items()}
    with connection.cursor() as cur:
        for table in AGGREGATE_ROLLUP_TABLES:
            for h in hour.values():
                if table == "dashboard_bank_merchant_hourly":
                    cur.execute(
                        f"INSERT INTO {table} (bank_id, bucket, merchant_id, currency, gmv) "
                        "VALUES ('b_x', %s, 'm_keep', 'XOF', 1) ON CONFLICT DO NOTHING",
                        [h],
                    )
                else:
                    cur.execute(
                        f"INSERT INTO {table} (scope_kind, scope_id, bucket, currency, source, "
                        "attempts) VALUES ('merchant', 'm_keep', %s, 'XOF', 'connect', 1) "
                        "ON CONFLICT DO NOTHING",
                        [h],
                    )
    expired_partition = f"dashboard_hourly_aggregate_p{expired_month:%Y%m}"
    assert expired_partition in _partitions("dashboard_hourly_aggregate")
    assert any(part.endswith("_default") for part, _ in _agg_rows("m_keep"))

    report = aggregates_expire(now=now)

    assert expired_partition in report["dropped"]
    # Only months wholly before the cutoff (migrations create past months' partitions too).
    kept_partition = f"dashboard_hourly_aggregate_p{kept_month:%Y%m}"
    assert all(name < kept_partition for name in report["dropped"])
    assert kept_partition in _partitions("dashboard_hourly_aggregate")
    assert expired_partition not in _partitions("dashboard_hourly_aggregate")
    assert [b for _, b in _agg_rows("m_keep")] == [hour[kept_month]]
    for table in ("dashboard_scope_hourly", "dashboard_scope_daily"):
        assert _rollup_buckets(table, "m_keep") == [hour[kept_month]]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT bucket FROM dashboard_bank_merchant_hourly WHERE merchant_id = 'm_keep'"
        )
        assert [r[0] for r in cur.fetchall()] == [hour[kept_month]]
    assert aggregates_expire(now=now)["dropped"] == []


def test_retention_never_deletes_audit_entries_actions_or_approvals(
    ops_admin, approver_b, settings
):
    """Audit and approvals are kept 10 years for the BCEAO and never deleted by the app:
    even a retention run dated 11 years ahead, with the shortest settings, leaves every row."""
    from dashboard.ingest.maintenance import retention_enforce
    from opsactions import services
    from opsactions.audit import audit_verify
    from opsactions.models import AuditEntry, OpsAction, OpsApproval

    action = services.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_1",
        params={"reason_code": "fraud_suspected"},
        reason="retention test",
    )
    services.action_approve(actor=approver_b, action_id=action.pk, comment="ok")
    before = (AuditEntry.objects.count(), OpsAction.objects.count(), OpsApproval.objects.count())
    assert before[0] >= 2 and before[2] >= 1
    settings.DEAD_LETTER_RETENTION_DAYS = 1
    settings.AGGREGATE_RETENTION_MONTHS = 1
    retention_enforce(now=datetime.now(UTC) + timedelta(days=11 * 366))
    after = (AuditEntry.objects.count(), OpsAction.objects.count(), OpsApproval.objects.count())
    assert after == before
    assert audit_verify().ok


def test_retention_is_on_the_beat_schedule_and_registered(settings):
    from config.celery import app
    from dashboard import tasks  # noqa: F401  (registers the dashboard.tasks.* names)

    entry = settings.CELERY_BEAT_SCHEDULE["enforce-retention"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] <= 86400
