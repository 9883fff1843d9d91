"""agents.services: float and sales batches from ingestion, status and limit setters."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.scope import Scope
from agents.choices import AgentStatus
from agents.models import Agent, AgentFloatHour, AgentSalesHour
from agents.selectors import agent_float_totals
from agents.services import (
    FloatColumns,
    SalesColumns,
    agent_floats_apply,
    agent_sales_24h_refresh,
    agent_sales_apply,
    agent_set_float_limit,
    agent_set_status,
    sales_window_start,
)
from common.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


def upd(agent_id, balance, at, event_id, *, lat=None, lon=None, currency="XOF", country="SN"):
    return {
        "agent_id": agent_id,
        "balance": Decimal(balance),
        "currency": currency,
        "occurred_at": at,
        "country": country,
        "region": "Dakar",
        "city": "Dakar",
        "lat": lat,
        "lon": lon,
        "event_id": event_id,
    }


def sale(agent_id, bucket, cash_in="0", cash_out="0", *, currency="XOF", last_seen=None):
    return {
        "agent_id": agent_id,
        "bucket": bucket,
        "currency": currency,
        "cash_in_amount": Decimal(cash_in),
        "cash_out_amount": Decimal(cash_out),
        "last_seen": last_seen or bucket + timedelta(minutes=5),
        "country": "SN",
        "region": "Dakar",
        "city": "Dakar",
    }


def test_unknown_agent_is_created_with_its_float_and_position():
    agent_floats_apply(FloatColumns.of([upd("a_1", "1500.5", T0, "e1", lat=14.7167, lon=-17.4677)]))
    agent = Agent.objects.get(agent_id="a_1")
    assert agent.float_balance == Decimal("1500.5")
    assert agent.currency == "XOF"
    assert agent.country == "SN"
    assert agent.status == AgentStatus.ACTIVE
    assert agent.float_updated_at == T0
    assert agent.last_seen_at == T0
    assert (round(agent.location.y, 4), round(agent.location.x, 4)) == (14.7167, -17.4677)


def test_late_older_float_update_does_not_overwrite_newer_balance():
    agent_floats_apply(FloatColumns.of([upd("a_1", "200", T0 + timedelta(minutes=5), "e2")]))
    agent_floats_apply(FloatColumns.of([upd("a_1", "100", T0, "e1")]))
    assert Agent.objects.get(agent_id="a_1").float_balance == Decimal("200")


def test_latest_wins_within_one_batch_whatever_the_order():
    agent_floats_apply(
        FloatColumns.of(
            [
                upd("a_1", "300", T0 + timedelta(minutes=9), "e3"),
                upd("a_1", "100", T0, "e1"),
                upd("a_1", "200", T0 + timedelta(minutes=5), "e2"),
            ]
        )
    )
    agent = Agent.objects.get(agent_id="a_1")
    assert agent.float_balance == Decimal("300")
    assert agent.float_event_id == "e3"


def test_equal_timestamps_are_broken_by_the_higher_event_id_in_any_order():
    agent_floats_apply(FloatColumns.of([upd("a_1", "200", T0, "e_b")]))
    agent_floats_apply(FloatColumns.of([upd("a_1", "100", T0, "e_a")]))
    agent_floats_apply(FloatColumns.of([upd("a_2", "100", T0, "e_a")]))
    agent_floats_apply(FloatColumns.of([upd("a_2", "200", T0, "e_b")]))
    agent_floats_apply(
        FloatColumns.of([upd("a_3", "100", T0, "e_a"), upd("a_3", "200", T0, "e_b")])
    )
    assert {a.agent_id: a.float_balance for a in Agent.objects.all()} == {
        "a_1": Decimal("200"),
        "a_2": Decimal("200"),
        "a_3": Decimal("200"),
    }


def test_replaying_the_same_update_changes_nothing():
    agent_floats_apply(FloatColumns.of([upd("a_1", "200", T0, "e1")]))
    agent_floats_apply(FloatColumns.of([upd("a_1", "200", T0, "e1"), upd("a_1", "200", T0, "e1")]))
    assert Agent.objects.get(agent_id="a_1").float_balance == Decimal("200")
    assert AgentFloatHour.objects.count() == 1


def test_position_follows_the_latest_located_update_only():
    agent_floats_apply(
        FloatColumns.of([upd("a_1", "1", T0 + timedelta(minutes=2), "e2", lat=14.79, lon=-16.93)])
    )
    # Older position arriving late: ignored. Newer float without location: keeps position.
    agent_floats_apply(FloatColumns.of([upd("a_1", "2", T0, "e1", lat=5.36, lon=-4.01)]))
    agent_floats_apply(FloatColumns.of([upd("a_1", "3", T0 + timedelta(minutes=9), "e3")]))
    agent = Agent.objects.get(agent_id="a_1")
    assert agent.float_balance == Decimal("3")
    assert (round(agent.location.y, 2), round(agent.location.x, 2)) == (14.79, -16.93)
    # A newer located update moves it even when its float is older than the current one.
    agent_floats_apply(
        FloatColumns.of([upd("a_1", "0", T0 + timedelta(minutes=5), "e4", lat=5.36, lon=-4.01)])
    )
    agent = Agent.objects.get(agent_id="a_1")
    assert agent.float_balance == Decimal("3")
    assert (round(agent.location.y, 2), round(agent.location.x, 2)) == (5.36, -4.01)


def test_hourly_float_history_keeps_the_last_balance_of_each_utc_hour():
    h10 = T0.replace(minute=0)
    agent_floats_apply(
        FloatColumns.of(
            [
                upd("a_1", "50", h10 + timedelta(minutes=50), "e3"),
                upd("a_1", "10", h10 + timedelta(minutes=5), "e1"),
                upd("a_1", "70", h10 + timedelta(hours=1, minutes=1), "e4"),
            ]
        )
    )
    agent_floats_apply(
        FloatColumns.of([upd("a_1", "30", h10 + timedelta(minutes=30), "e2")])
    )  # late, older
    history = {row.hour: row.balance for row in AgentFloatHour.objects.filter(agent_id="a_1")}
    assert history == {h10: Decimal("50"), h10 + timedelta(hours=1): Decimal("70")}


def test_float_batch_is_one_statement_in_the_callers_transaction(django_assert_max_num_queries):
    batch = [upd(f"a_{i}", str(i), T0, f"e{i}", lat=14.0, lon=-17.0) for i in range(2000)]
    with transaction.atomic(), django_assert_max_num_queries(1):
        agent_floats_apply(FloatColumns.of(batch))
    assert Agent.objects.count() == 2000


def test_sales_accumulate_per_agent_hour_currency_and_create_agents():
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    agent_sales_apply(
        SalesColumns.of([sale("a_9", hour, "1000", "250"), sale("a_9", hour, cash_out="50")])
    )
    agent_sales_apply(SalesColumns.of([sale("a_9", hour - timedelta(hours=1), "5")]))
    rows = AgentSalesHour.objects.filter(agent_id="a_9").order_by("bucket")
    assert [(r.cash_in_amount, r.cash_out_amount) for r in rows] == [
        (Decimal("5"), Decimal("0")),
        (Decimal("1000"), Decimal("300")),
    ]
    agent = Agent.objects.get(agent_id="a_9")
    assert agent.currency == "XOF"
    assert agent.sales_24h == Decimal("1305")
    assert agent.float_updated_at is None


def test_last_seen_is_the_max_whatever_the_order():
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    agent_sales_apply(
        SalesColumns.of([sale("a_9", hour, "1", last_seen=hour + timedelta(minutes=40))])
    )
    agent_sales_apply(
        SalesColumns.of([sale("a_9", hour, "1", last_seen=hour + timedelta(minutes=10))])
    )
    assert Agent.objects.get(agent_id="a_9").last_seen_at == hour + timedelta(minutes=40)


def test_sales_24h_counts_only_the_window_and_the_agents_currency():
    now = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    start = sales_window_start(now)
    assert start == datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    agent_sales_apply(
        SalesColumns.of(
            [
                sale("a_9", start, "100"),
                sale("a_9", start - timedelta(hours=1), "1000"),  # just outside
                sale("a_9", start, "7", currency="GNF"),  # not the agent's currency
            ]
        ),
        now=now,
    )
    assert Agent.objects.get(agent_id="a_9").sales_24h == Decimal("100")
    # An hour later the first bucket ages out once the refresh runs.
    agent_sales_24h_refresh(now=now + timedelta(hours=1))
    assert Agent.objects.get(agent_id="a_9").sales_24h == Decimal("0")


def test_sales_do_not_override_what_float_updates_set():
    agent_floats_apply(FloatColumns.of([upd("a_1", "10", T0, "e1", currency="XOF", country="CI")]))
    row = sale("a_1", T0.replace(minute=0), "5", currency="GNF")
    row["country"] = "GN"
    agent_sales_apply(SalesColumns.of([row]))
    agent = Agent.objects.get(agent_id="a_1")
    assert (agent.currency, agent.country) == ("XOF", "CI")


def test_set_status_returns_previous_and_unknown_agent_is_not_found():
    agent_floats_apply(FloatColumns.of([upd("a_1", "10", T0, "e1")]))
    assert agent_set_status(agent_id="a_1", status=AgentStatus.FROZEN) == AgentStatus.ACTIVE
    assert Agent.objects.get(agent_id="a_1").status == AgentStatus.FROZEN
    assert agent_set_status(agent_id="a_1", status=AgentStatus.ACTIVE) == AgentStatus.FROZEN
    with pytest.raises(NotFound):
        agent_set_status(agent_id="nope", status=AgentStatus.FROZEN)
    with pytest.raises(ValidationFailed):
        agent_set_status(agent_id="a_1", status="closed")


def test_set_float_limit_returns_previous_limit():
    agent_floats_apply(FloatColumns.of([upd("a_1", "10", T0, "e1")]))
    assert agent_set_float_limit(agent_id="a_1", float_limit=Decimal("500000")) is None
    assert agent_set_float_limit(agent_id="a_1", float_limit=Decimal("250000")) == Decimal("500000")
    assert Agent.objects.get(agent_id="a_1").float_limit == Decimal("250000")
    with pytest.raises(NotFound):
        agent_set_float_limit(agent_id="nope", float_limit=Decimal("1"))


def test_float_totals_per_scope():
    agent_floats_apply(
        FloatColumns.of(
            [
                upd("a_1", "100.25", T0, "e1", country="SN"),
                upd("a_2", "-20", T0, "e2", country="SN"),
                upd("a_3", "1000", T0, "e3", country="CI"),
                upd("a_4", "7", T0, "e4", country="GN", currency="GNF"),
            ]
        )
    )
    agent_sales_apply(
        SalesColumns.of([sale("a_5", T0.replace(minute=0), "1")])
    )  # no float yet: not counted
    assert agent_float_totals(Scope.platform()) == {
        "XOF": Decimal("1080.25"),
        "GNF": Decimal("7"),
    }
    assert agent_float_totals(Scope("region", "SN")) == {"XOF": Decimal("80.25")}
    assert agent_float_totals(Scope("agent", "a_3")) == {"XOF": Decimal("1000")}
    assert agent_float_totals(Scope("agent", "zz")) == {}
    assert agent_float_totals(Scope("merchant", "m_1")) == {}
    assert agent_float_totals(Scope("bank", "b_1")) == {}


def test_float_apply_uses_callers_connection_and_rolls_back_with_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        agent_floats_apply(FloatColumns.of([upd("a_1", "10", T0, "e1")]))
        assert connection.in_atomic_block
        raise RuntimeError
    assert not Agent.objects.filter(agent_id="a_1").exists()


def test_sales_ageing_is_incremental_per_window_move_and_full_repairs_the_rest():
    now = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    start = sales_window_start(now)
    agent_sales_apply(
        SalesColumns.of(
            [sale("a_old", start, "100"), sale("a_new", start + timedelta(hours=5), "7")]
        ),
        now=now,
    )
    assert agent_sales_24h_refresh(now=now) == 0  # first run: full, nothing stale
    assert agent_sales_24h_refresh(now=now + timedelta(minutes=20)) == 0  # window unchanged
    # One hour later the bucket `start` has left the window: only a_old changes.
    assert agent_sales_24h_refresh(now=now + timedelta(hours=1)) == 1
    assert Agent.objects.get(agent_id="a_old").sales_24h == 0
    assert Agent.objects.get(agent_id="a_new").sales_24h == Decimal("7")
    # A stale figure the incremental path cannot see is repaired by the full run.
    Agent.objects.filter(agent_id="a_new").update(sales_24h=Decimal("99"))
    assert agent_sales_24h_refresh(now=now + timedelta(hours=1, minutes=5)) == 0
    assert agent_sales_24h_refresh(now=now + timedelta(hours=1, minutes=5), full=True) == 1
    assert Agent.objects.get(agent_id="a_new").sales_24h == Decimal("7")
