"""Refresh tokens rotate on use and are revoked by logout and by deactivation; a deactivated
user's access tokens are refused at once, the dashboard reads' identity copies included."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import user_deactivate

pytestmark = pytest.mark.django_db(transaction=True)


def _pair(user):
    response = APIClient().post(
        "/api/auth/token/",
        {"username": user.username, "password": "pw-test-1234"},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(refresh):
    return APIClient().post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")


def _bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_refresh_rotates_and_the_used_refresh_token_is_refused_afterwards(ops_admin):
    first = _pair(ops_admin)["refresh"]
    response = _refresh(first)
    assert response.status_code == 200
    second = response.json()["refresh"]
    assert second != first
    assert _bearer(response.json()["access"]).get("/api/auth/me/").status_code == 200
    replay = _refresh(first)
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    assert _refresh(second).status_code == 200  # the new one works (once)


def test_logout_revokes_the_refresh_token(ops_admin):
    refresh = _pair(ops_admin)["refresh"]
    response = APIClient().post("/api/auth/logout/", {"refresh": refresh}, format="json")
    assert response.status_code == 204
    assert _refresh(refresh).status_code == 401
    again = APIClient().post("/api/auth/logout/", {"refresh": refresh}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"refresh": ""}, 400), ({"refresh": 12}, 400), ({"refresh": "garbage"}, 401)],
)
def test_logout_with_a_bad_body_is_a_clear_error(ops_admin, body, status):
    response = APIClient().post("/api/auth/logout/", body, format="json")
    assert response.status_code == status
    assert set(response.json()) >= {"detail", "code"}
    if status == 400:
        assert "refresh" in response.json()["errors"]


def test_logout_refuses_an_access_token_in_place_of_the_refresh_token(ops_admin):
    access = _pair(ops_admin)["access"]
    response = APIClient().post("/api/auth/logout/", {"refresh": access}, format="json")
    assert response.status_code == 401


def _overview(client):
    return client.get("/api/dashboard/overview?period=24h")


@pytest.fixture
def platform_snapshot():
    from accounts.scope import Scope
    from dashboard.snapshots.refresh import snapshot_refresh_scope

    snapshot_refresh_scope(scope=Scope.platform())


@pytest.mark.parametrize("path", ["service", "save"])
def test_deactivation_revokes_refresh_and_access_tokens_at_once(
    ops_admin, settings, path, platform_snapshot
):
    settings.OVERVIEW_AUTH_CACHE_S = 3600  # the identity copy alone would serve for an hour
    pairs = [_pair(ops_admin), _pair(ops_admin)]
    issued_directly = RefreshToken.for_user(ops_admin)
    client = _bearer(pairs[0]["access"])
    assert client.get("/api/auth/me/").status_code == 200
    assert _overview(client).status_code == 200  # the identity now copied to Redis

    if path == "service":
        user_deactivate(user=ops_admin)
    else:  # what the admin's "active" checkbox does
        ops_admin.is_active = False
        ops_admin.save()

    assert client.get("/api/auth/me/").status_code == 401
    assert _overview(client).status_code == 401
    for refresh in [p["refresh"] for p in pairs] + [str(issued_directly)]:
        response = _refresh(refresh)
        assert response.status_code == 401, response.content
    # Revoked, not merely refused for an inactive user: reactivation does not revive them.
    ops_admin.is_active = True
    ops_admin.save()
    for refresh in [p["refresh"] for p in pairs] + [str(issued_directly)]:
        assert _refresh(refresh).json()["code"] == "token_not_valid"


def test_a_rolled_back_deactivation_revokes_nothing(ops_admin):
    refresh = _pair(ops_admin)["refresh"]
    with pytest.raises(RuntimeError), transaction.atomic():
        user_deactivate(user=ops_admin)
        raise RuntimeError("abort")
    assert _refresh(refresh).status_code == 200


def test_refresh_token_of_a_deleted_user_is_401_not_500(ops_admin):
    refresh = _pair(ops_admin)["refresh"]
    ops_admin.delete()
    response = _refresh(refresh)
    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "code"}


def test_expired_refresh_tokens_are_flushed_and_live_ones_kept(ops_admin):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from accounts.tasks import flush_expired_tokens

    live = RefreshToken.for_user(ops_admin)
    old = RefreshToken.for_user(ops_admin)
    OutstandingToken.objects.filter(jti=old["jti"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    flush_expired_tokens()
    assert set(OutstandingToken.objects.values_list("jti", flat=True)) == {live["jti"]}


def test_other_processes_refuse_a_deactivated_users_access_token_at_once(
    ops_admin, settings, platform_snapshot
):
    """Another web process learns of a deactivation through the auth epoch in Redis, which
    every request reads with the identity copy: the copy is void from the next request."""
    from django.core.cache import cache

    from accounts import revocation

    settings.OVERVIEW_AUTH_CACHE_S = 3600  # the copy alone would serve for an hour
    client = _bearer(_pair(ops_admin)["access"])
    assert _overview(client).status_code == 200  # the user checked, its identity copied
    # Deactivated by another process: the database and the epoch in Redis change; this
    # process's copy of the identity is not dropped (the save's signal ran elsewhere).
    type(ops_admin).objects.filter(pk=ops_admin.pk).update(is_active=False)
    cache.set(revocation.AUTH_EPOCH_KEY, "bumped-elsewhere", timeout=None)
    assert _overview(client).status_code == 401
