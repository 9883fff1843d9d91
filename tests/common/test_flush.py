"""The transactional tests' flush: every row gone, content types and permissions kept."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User
from dashboard.models import Widget
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _flush():
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)


def test_flush_empties_the_tables_holding_rows_and_those_referencing_them():
    owner = make_user("flush_owner", Role.MERCHANT_ADMIN, "merchant:m_flush")
    Widget.objects.create(
        scope_kind="merchant", scope_id="m_flush", owner=owner, type="gauge", title="t",
        x=0, y=0, w=4, h=3, config={},
    )  # fmt: skip
    types, perms = ContentType.objects.count(), Permission.objects.count()
    assert types and perms

    _flush()

    assert User.objects.count() == 0
    assert Widget.objects.count() == 0
    assert ContentType.objects.count() == types
    assert Permission.objects.count() == perms


def test_flush_of_an_empty_database_keeps_it_usable():
    _flush()
    _flush()
    make_user("flush_again", Role.OPS_ADMIN)
    assert User.objects.count() == 1
