"""as_of: the newest event time counted in each snapshot window, never an ingestion time.

Events go through the real ingestion path (dashboard.ingest.services), the
snapshots through the real refresh; the expected as_of is read off the
events themselves.
"""

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection

from accounts.scope import Scope
from dashboard.ingest.services import ingest as ingest_payloads
from dashboard.models import HourlyAggregate, Snapshot
from dashboard.snapshots.periods import window
from dashboard.snapshots.refresh import snapshot_refresh_scope
from tests.dashboard.test_snapshots_support import clean_overview_cache  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]

NOW = datetime.now(UTC).replace(microsecond=0)


def rfc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(occurred_at, *, merchant="m_asof", etype="payment.succeeded", amount="1000", **kw):
    e = {
        "event_id": uuid.uuid4().hex,
        "type": etype,
        "source": "wallet" if etype == "transfer.completed" else "connect",
        "occurred_at": occurred_at.isoformat(),
        "merchant_id": merchant,
        "country": "SN",
        "region": "Dakar",
        "city": "Dakar",
        "currency": "XOF",
        "amount": amount,
        **kw,
    }
    if etype in ("payment.initiated", "payment.failed"):
        del e["currency"], e["amount"]
    return e


def ingest(*events):
    result = ingest_payloads(list(events))
    assert not result.dead_letters, result.dead_letters
    return result


def refresh(scope_text, now=NOW):
    entries = snapshot_refresh_scope(scope=Scope.parse(scope_text), now=now)
    return {p: orjson.loads(body) for p, (body, _c, _w) in entries.items()}


def in_window(times, period, now=NOW):
    frm, to, _pf, _pt = window(period, now)
    return [t for t in times if frm <= t < to]


def test_as_of_is_the_newest_occurred_at_in_each_window():
    times = [
        NOW - timedelta(minutes=7, seconds=13),
        NOW - timedelta(hours=5, minutes=2),
        NOW - timedelta(days=3, minutes=41),
        NOW - timedelta(days=12, seconds=5),
        NOW - timedelta(days=45),  # only in the previous 30 days
    ]
    # Out of order, over several batches and event types.
    ingest(event(times[3]), event(times[0], etype="payment.initiated"))
    ingest(event(times[4]), event(times[1], etype="transfer.completed"))
    ingest(event(times[2], etype="payment.failed"))
    payload = refresh("merchant:m_asof")
    for period, body in payload.items():
        expected = max(in_window(times, period), default=None)
        assert body["as_of"] == (rfc(expected) if expected else None), period
        row = Snapshot.objects.get(scope_kind="merchant", scope_id="m_asof", period=period)
        assert row.as_of == expected, period
    assert payload["24h"]["as_of"] == rfc(times[0])
    # The platform counts the same events: same as_of.
    assert refresh("platform")["30d"]["as_of"] == rfc(times[0])


def test_a_late_event_does_not_move_the_24h_as_of():
    recent = NOW - timedelta(minutes=9, seconds=31)
    ingest(event(recent))
    assert refresh("merchant:m_asof")["24h"]["as_of"] == rfc(recent)
    # Three days late, ingested now: counted in its own hour, not the last 24.
    late = NOW - timedelta(days=3, hours=2, seconds=17)
    ingest(event(late, amount="5000"))
    payload = refresh("merchant:m_asof")
    assert payload["24h"]["as_of"] == rfc(recent)
    assert payload["24h"]["amounts"]["XOF"]["gmv"] == "1000"
    assert payload["7d"]["as_of"] == rfc(recent)
    assert payload["7d"]["amounts"]["XOF"]["gmv"] == "6000"


def test_a_scope_with_only_a_late_event_has_no_24h_as_of():
    late = NOW - timedelta(days=3, minutes=3, seconds=3)
    ingest(event(late, merchant="m_late"))
    payload = refresh("merchant:m_late")
    assert payload["24h"]["as_of"] is None
    assert payload["today"]["as_of"] is None
    assert payload["7d"]["as_of"] == rfc(late)
    assert (
        Snapshot.objects.get(scope_kind="merchant", scope_id="m_late", period="24h").as_of is None
    )


def test_ingestion_keeps_the_newest_event_time_per_row_and_rollups_carry_it():
    hour = (NOW - timedelta(hours=3)).replace(minute=0, second=0)
    newer, older = hour + timedelta(minutes=50, seconds=1), hour + timedelta(minutes=4)
    ingest(event(newer), event(hour + timedelta(minutes=20)))
    ingest(event(older))  # a later batch with an older event: GREATEST keeps `newer`
    rows = HourlyAggregate.objects.filter(scope_kind="merchant", scope_id="m_asof", bucket=hour)
    assert [r.last_event_at for r in rows] == [newer]
    assert set(
        HourlyAggregate.objects.filter(bucket=hour, scope_kind="platform").values_list(
            "last_event_at", flat=True
        )
    ) == {newer}
    refresh("merchant:m_asof")
    with connection.cursor() as cur:
        for table in ("dashboard_scope_hourly", "dashboard_scope_daily"):
            cur.execute(
                f"SELECT max(last_event_at) FROM {table} "
                "WHERE scope_kind = 'merchant' AND scope_id = 'm_asof'"
            )
            assert cur.fetchone()[0] == newer, table


def test_a_redelivered_event_changes_neither_figures_nor_as_of():
    first = event(NOW - timedelta(minutes=30))
    ingest(first)
    before = refresh("merchant:m_asof")["24h"]
    assert ingest(first).counted == 0
    after = refresh("merchant:m_asof")["24h"]
    assert after["as_of"] == before["as_of"] == rfc(NOW - timedelta(minutes=30))
    assert after["counts"] == before["counts"]
