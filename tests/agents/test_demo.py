"""agents.demo: demo agents around West African cities, idempotent."""

import pytest
from django.apps import apps

from agents.demo import DEMO_AGENT_COUNT
from agents.models import Agent, AgentSalesHour
from tests.agents.helpers import DAKAR, haversine_m

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_puts_a_0001_in_dakar():
    apps.get_app_config("agents").seed_demo()
    sales = AgentSalesHour.objects.count()
    floats = {a.agent_id: a.float_balance for a in Agent.objects.all()}
    apps.get_app_config("agents").seed_demo()
    assert Agent.objects.count() == DEMO_AGENT_COUNT
    assert AgentSalesHour.objects.count() == sales
    assert {a.agent_id: a.float_balance for a in Agent.objects.all()} == floats
    a1 = Agent.objects.get(agent_id="a_0001")
    assert (a1.country, a1.city) == ("SN", "Dakar")
    assert haversine_m(*DAKAR, a1.location.y, a1.location.x) < 100
    assert Agent.objects.filter(sales_24h__gt=0).count() > DEMO_AGENT_COUNT // 2
    assert {a.country for a in Agent.objects.all()} >= {"SN", "CI", "ML", "BF", "BJ", "TG", "NE"}
