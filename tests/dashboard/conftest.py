"""Fixtures of the ingestion tests (named ingest_*)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection

from common import dbroles
from dashboard import stream
from dashboard.models import HourlyAggregate


def _now_hour():
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def ingest_hour():
    """The UTC hour two hours ago (safely in the past, inside the seen-id window)."""
    return _now_hour() - timedelta(hours=2)


@pytest.fixture
def ingest_event(ingest_hour):
    """ingest_event(type, **fields) -> a valid contract event dict with a fresh event_id."""
    money = {
        "payment.succeeded",
        "refund.succeeded",
        "dispute.opened",
        "payout.completed",
        "fraud.flagged",
        "transfer.completed",
        "cash_in.completed",
        "cash_out.completed",
    }
    wallet = {"transfer.completed", "cash_in.completed", "cash_out.completed",
              "agent.float_updated"}  # fmt: skip

    def make(etype="payment.succeeded", **fields):
        event = {
            "event_id": uuid.uuid4().hex,
            "type": etype,
            "source": "wallet" if etype in wallet else "connect",
            "occurred_at": (ingest_hour + timedelta(minutes=15, seconds=3)).isoformat(),
            "country": "SN",
            "region": "Dakar",
            "city": "Dakar",
        }
        if etype in money:
            event.update(currency="XOF", amount="15000")
        if etype == "agent.float_updated":
            event.update(currency="XOF", balance="250000", agent_id="a_t1")
        event.update(fields)
        return {k: v for k, v in event.items() if v is not None}

    return make


@pytest.fixture
def ingest_rows():
    """ingest_rows(scope_kind, scope_id, **filters) -> {figure: total} over matching aggregates."""
    from dashboard.ingest.validation import FIGURES

    def rows(scope_kind, scope_id="", **filters):
        qs = HourlyAggregate.objects.filter(scope_kind=scope_kind, scope_id=scope_id, **filters)
        totals = dict.fromkeys(FIGURES, 0)
        for row in qs.values(*FIGURES):
            for name in FIGURES:
                totals[name] += row[name]
        return totals

    return rows


@pytest.fixture
def ingest_clean(transactional_db):
    """Empty ingestion tables for tests that commit (consumer tests run in real transactions).

    The aggregate and seen tables are unmanaged/raw, so Django's flush does not reset them."""

    def wipe():  # as the owner: the application's role may truncate nothing
        with dbroles.as_owner(), connection.cursor() as cur:
            cur.execute(
                "TRUNCATE dashboard_hourly_aggregate, dashboard_seen_event, "
                "dashboard_dirty_change, dashboard_dead_letter, dashboard_bank_merchant_hourly"
            )

    wipe()
    yield
    wipe()


@pytest.fixture
def feed_clean():
    """Empty feeds of this run's key prefix, and a writer not paused by an earlier failure."""

    def wipe():
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(stream.feed_key("*"), count=1000))
        if keys:
            client.delete(*keys)

    stream._paused_until = 0.0
    wipe()
    yield
    wipe()
    stream._paused_until = 0.0
