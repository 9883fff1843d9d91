"""agents.tasks: periodic map refresh (sales_24h ageing + grid) and history pruning."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from agents.models import Agent, AgentFloatHour, AgentGridCell, AgentGridState, AgentSalesHour
from agents.services import SalesColumns, agent_sales_apply
from agents.tasks import prune_agent_history, refresh_agent_map
from tests.agents.helpers import DAKAR, place

pytestmark = pytest.mark.django_db


def test_refresh_agent_map_rebuilds_grid_and_ages_sales():
    place("a_1", *DAKAR)
    old = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    AgentSalesHour.objects.create(
        agent_id="a_1", bucket=old, currency="XOF", cash_in_amount=Decimal(5)
    )
    Agent.objects.filter(agent_id="a_1").update(sales_24h=Decimal(5))  # stale figure
    refresh_agent_map.apply()  # runs the task body synchronously, as a worker would
    assert Agent.objects.get(agent_id="a_1").sales_24h == 0
    state = AgentGridState.objects.get(id=1)
    assert state.agent_count == 1
    assert AgentGridCell.objects.filter(level=0).get().agent_count == 1
    # A rebuild replaces the grid instead of adding to it.
    refresh_agent_map.apply()
    assert AgentGridCell.objects.filter(level=0).get().agent_count == 1


def test_prune_drops_history_past_retention(settings):
    settings.AGENTS_HISTORY_RETENTION_DAYS = 30
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    place("a_1", *DAKAR, at=now - timedelta(days=40))
    place("a_1", *DAKAR, at=now)
    agent_sales_apply(
        SalesColumns.of(
            [
                {
                    "agent_id": "a_1",
                    "bucket": now - timedelta(days=31),
                    "currency": "XOF",
                    "cash_in_amount": Decimal(1),
                    "cash_out_amount": Decimal(0),
                    "last_seen": now - timedelta(days=31),
                }
            ]
        )
    )
    prune_agent_history.apply()
    assert list(AgentFloatHour.objects.values_list("hour", flat=True)) == [now]
    assert not AgentSalesHour.objects.exists()
