"""Fixtures of the alerts tests."""

import importlib

import pytest


@pytest.fixture(autouse=True)
def default_rules(request):
    """The default rules of migration 0002, again, in every database test: transactional
    tests (anywhere in the suite) end with a TRUNCATE of every table, data migrations'
    rows included."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")  # the test's database access, set up first
    from django.apps import apps

    importlib.import_module("alerts.migrations.0002_default_rules").create_rules(apps, None)
