"""Changes no signal reports (bulk updates, raw SQL) still void the identity copies.

Triggers (accounts/migrations/0003_auth_changes.py) record each statement that changes
what a copy holds; `accounts.tasks.check_auth_changes` (beat) moves the auth epoch.
"""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.revocation import auth_changes_check, auth_changes_prune
from accounts.scope import Scope
from accounts.tasks import check_auth_changes
from dashboard.snapshots.refresh import snapshot_refresh_scope

pytestmark = pytest.mark.django_db
OVERVIEW = "/api/dashboard/overview"


def settled():
    """Whatever earlier tests changed is taken into account: the next check sees only ours."""
    auth_changes_check()
    assert auth_changes_check() is False


def test_a_bulk_update_is_refused_after_the_next_check_though_the_copy_would_serve(
    client_for, merchant_admin_m1, settings
):
    settings.OVERVIEW_AUTH_CACHE_S = 3600  # the copy alone would serve for an hour
    snapshot_refresh_scope(scope=Scope.parse("merchant:m_1"))
    client = client_for(merchant_admin_m1)
    settled()
    assert client.get(OVERVIEW, {"scope": "merchant:m_1"}).status_code == 200  # copied
    # Moved to another merchant by a bulk update: no save, no signal.
    User.objects.filter(pk=merchant_admin_m1.pk).update(scope_id="m_2")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(OVERVIEW, {"scope": "merchant:m_1"}).status_code == 200
    assert not [q for q in queries.captured_queries if "accounts_user" in q["sql"]]  # the copy
    check_auth_changes()  # what beat runs every AUTH_CHANGES_CHECK_S
    assert client.get(OVERVIEW, {"scope": "merchant:m_1"}).status_code == 403


@pytest.mark.parametrize(
    "change",
    ["deactivate", "role", "delete", "groups", "user_permissions", "group_permissions"],
)
def test_each_watched_change_is_seen_by_the_check(merchant_admin_m1, change):
    settled()
    group = Group.objects.get(name=merchant_admin_m1.role)
    with connection.cursor() as cur:
        if change == "deactivate":
            cur.execute("UPDATE accounts_user SET is_active = false WHERE id = %s",
                        [merchant_admin_m1.pk])  # fmt: skip
        elif change == "role":
            User.objects.filter(pk=merchant_admin_m1.pk).update(role="agent")
        elif change == "delete":
            User.objects.filter(pk=merchant_admin_m1.pk).delete()
        elif change == "groups":
            cur.execute("DELETE FROM accounts_user_groups WHERE user_id = %s",
                        [merchant_admin_m1.pk])  # fmt: skip
        elif change == "user_permissions":
            permission = group.permissions.first()
            merchant_admin_m1.user_permissions.through.objects.bulk_create(
                [merchant_admin_m1.user_permissions.through(
                    user_id=merchant_admin_m1.pk, permission_id=permission.pk)]
            )  # fmt: skip
        else:
            cur.execute("DELETE FROM auth_group_permissions WHERE group_id = %s", [group.pk])
    assert auth_changes_check() is True
    assert auth_changes_check() is False


def test_sign_ins_and_rolled_back_changes_are_not_changes(merchant_admin_m1):
    settled()
    User.objects.filter(pk=merchant_admin_m1.pk).update(last_login=timezone.now())
    assert auth_changes_check() is False
    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.filter(pk=merchant_admin_m1.pk).update(is_active=False)
        raise RuntimeError("rolled back")
    assert auth_changes_check() is False


def test_old_change_rows_are_pruned(merchant_admin_m1):
    User.objects.filter(pk=merchant_admin_m1.pk).update(role="agent")
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_auth_change SET at = now() - interval '2 days'")
    assert auth_changes_prune() >= 1
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts_auth_change WHERE at < now() - interval '1 day'")
        assert cur.fetchone() == (0,)


def test_the_check_is_scheduled_by_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["check-auth-changes"]
    assert entry["task"] == check_auth_changes.name == "accounts.tasks.check_auth_changes"
    assert entry["schedule"] == django_settings.AUTH_CHANGES_CHECK_S
