"""Fixtures of the agents tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_float_history_cache():
    """The float history is cached for a minute; each test starts without it."""
    cache.delete_pattern("agents:float-history:*")
    yield
    cache.delete_pattern("agents:float-history:*")
