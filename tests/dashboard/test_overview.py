"""GET /api/dashboard/overview: tenant isolation, cache layers, staleness, errors, schema;
a read never computes nor writes a snapshot."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.scope import Scope
from common.redis_mirror import mirror
from dashboard.models import Snapshot
from dashboard.snapshots import cache
from dashboard.snapshots.refresh import snapshot_refresh_scope
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    insert_event_rows,
)
from tests.race import wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]
URL = "/api/dashboard/overview"


def get(client, **params):
    return client.get(URL, params)


def computed(*scopes):
    """What the scheduled refresh does before anyone reads these scopes."""
    for text in scopes:
        snapshot_refresh_scope(scope=Scope.parse(text))


@pytest.fixture
def queued(monkeypatch):
    """The refreshes the overview queued (Celery publish replaced by a list)."""
    from dashboard.tasks import refresh_snapshot_batch

    calls = []
    monkeypatch.setattr(
        refresh_snapshot_batch, "apply_async", lambda args, **kw: calls.append(args[0])
    )
    client = cache.client()
    client.delete(*client.keys(cache.queued_key("*")) or ["-"])
    return calls


def test_staff_may_view_any_scope(client_for, ops_admin):
    insert_event_rows(hours_ago(1), merchant="m_2", gmv="700", success_count=1)
    computed("merchant:m_2")
    response = get(client_for(ops_admin), scope="merchant:m_2", period="24h")
    assert response.status_code == 200
    body = orjson.loads(response.content)
    assert body["scope"] == "merchant:m_2" and body["period"] == "24h"
    assert body["amounts"]["XOF"]["gmv"] == "700"
    assert response["Content-Type"] == "application/json"


def test_staff_default_to_platform_and_24h(client_for, finance_ops):
    computed("platform")
    body = orjson.loads(get(client_for(finance_ops)).content)
    assert body["scope"] == "platform" and body["period"] == "24h"


def test_merchant_user_gets_own_scope_and_never_another(client_for, merchant_admin_m1):
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="100")
    insert_event_rows(hours_ago(1), merchant="m_2", gmv="999")
    computed("merchant:m_1", "merchant:m_2")
    client = client_for(merchant_admin_m1)
    own = orjson.loads(get(client).content)
    assert own["scope"] == "merchant:m_1"
    assert own["amounts"]["XOF"]["gmv"] == "100"
    assert get(client, scope="merchant:m_1").status_code == 200
    for other in ("merchant:m_2", "platform", "region:SN", "bank:b_1"):
        response = get(client, scope=other)
        assert response.status_code == 403, other
        assert response.json()["code"] == "scope_forbidden"
        assert b"999" not in response.content


def test_agent_user_gets_own_scope(client_for, agent_user):
    computed("agent:a_1")
    assert orjson.loads(get(client_for(agent_user)).content)["scope"] == "agent:a_1"
    assert get(client_for(agent_user), scope="agent:a_2").status_code == 403


def test_unauthenticated_and_bad_token_are_401(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_bad_period_and_bad_scope_are_400(client_for, ops_admin):
    client = client_for(ops_admin)
    response = get(client, period="1y")
    assert response.status_code == 400
    assert response.json()["errors"]["period"]
    response = get(client, scope="galaxy:1")
    assert response.status_code == 400
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "invalid_scope",
        "errors": {"scope": [response.json()["detail"]]},
    }


def test_post_is_405(client_for, ops_admin):
    assert client_for(ops_admin).post(URL).status_code == 405


def test_a_cache_hit_serves_the_redis_bytes_as_they_are(client_for, ops_admin):
    now = datetime.now(UTC)
    marker = b'{"stale":false,"scope":"merchant:m_5","marker":42}'
    cache.store("merchant:m_5", {"7d": (marker, now, now + timedelta(hours=1))})
    response = get(client_for(ops_admin), scope="merchant:m_5", period="7d")
    assert response.content == marker


def test_a_redis_miss_serves_the_stored_row_flagged_stale_and_queues_a_refresh(
    client_for, ops_admin, queued
):
    insert_event_rows(hours_ago(1), merchant="m_1", gmv="100")
    computed("merchant:m_1")
    cache.client().delete(cache.overview_key("merchant:m_1", "24h"))
    Snapshot.objects.filter(scope_id="m_1", period="24h").update(
        body='{"stale":false,"from_table":true}'
    )
    client = client_for(ops_admin)
    get(client, scope="merchant:m_1")  # the user's check (its identity copy) out of the way
    mirror.clear()
    with CaptureQueriesContext(connection) as queries:
        response = get(client, scope="merchant:m_1", period="24h")
    assert response.status_code == 200
    assert orjson.loads(response.content) == {
        "stale": True,
        "stale_reason": "refresh_pending",
        "from_table": True,
    }
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT"]
    assert cache.fetch("merchant:m_1", "24h")[0] is None  # nothing written back
    assert queued == [[["merchant", "m_1"]]]
    get(client, scope="merchant:m_1", period="24h")
    assert len(queued) == 1  # one refresh queued per scope and interval, not per request


def test_a_scope_never_computed_is_503_with_retry_after_and_its_refresh_queued(
    client_for, ops_admin, queued
):
    insert_event_rows(hours_ago(2), merchant="m_7", gmv="55.5")
    client = client_for(ops_admin)
    response = get(client, scope="merchant:m_7")
    assert response.status_code == 503
    assert response.json()["code"] == "snapshot_pending"
    assert int(response["Retry-After"]) > 0
    assert not Snapshot.objects.filter(scope_id="m_7").exists()  # nothing computed here
    assert queued == [[["merchant", "m_7"]]]
    # What the worker does with the queued task; then the scope answers.
    from dashboard.tasks import refresh_snapshot_batch

    refresh_snapshot_batch(*queued)
    body = orjson.loads(get(client, scope="merchant:m_7").content)
    assert body["amounts"]["XOF"]["gmv"] == "55.5" and body["stale"] is False


def test_a_refresh_is_still_queued_when_the_broker_refuses(client_for, ops_admin, monkeypatch):
    from dashboard.tasks import refresh_snapshot_batch

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(refresh_snapshot_batch, "apply_async", refused)
    cache.client().delete(cache.queued_key("merchant:m_8"))
    response = get(client_for(ops_admin), scope="merchant:m_8")
    assert response.status_code == 503 and response.json()["code"] == "snapshot_pending"
    # Not marked queued: the next read tries again.
    assert cache.client().get(cache.queued_key("merchant:m_8")) is None


@override_settings(SNAPSHOT_REFRESH_INTERVAL_S=60)
def test_stale_when_older_than_two_refresh_intervals(client_for, ops_admin):
    client = client_for(ops_admin)
    old = datetime.now(UTC) - timedelta(seconds=121)
    body = b'{"stale":false,"scope":"merchant:m_6"}'
    window_to = datetime.now(UTC) + timedelta(minutes=30)
    cache.store("merchant:m_6", {"24h": (body, old, window_to)})
    assert orjson.loads(get(client, scope="merchant:m_6").content)["stale"] is True
    mirror.clear()
    # A refresh run that completed after it, with the scope not dirty, vouches for it...
    cache.set_tick(datetime.now(UTC) - timedelta(seconds=5))
    assert orjson.loads(get(client, scope="merchant:m_6").content)["stale"] is False
    mirror.clear()
    # ...but not once the snapshot's hour window has ended.
    cache.store("merchant:m_6", {"24h": (body, old, datetime.now(UTC) - timedelta(seconds=1))})
    assert orjson.loads(get(client, scope="merchant:m_6").content)["stale"] is True


def test_overview_is_in_the_openapi_schema_with_its_document(client_for, ops_admin):
    schema = client_for(ops_admin).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/dashboard/overview"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"scope", "period"}
    assert set(operation["responses"]) == {"200", "400", "401", "403", "503"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Overview"}
    document = schema["components"]["schemas"]["Overview"]
    computed("platform")
    body = orjson.loads(get(client_for(ops_admin)).content)
    # The schema names exactly the stored document's members, in its order.
    assert list(document["properties"]) == [
        "stale", "degraded", "stale_reason", *[k for k in body if k != "stale"]
    ]  # fmt: skip
    assert {"jwtAuth": []} in operation["security"]
    assert "/api/dashboard/metrics/{metric}/timeseries" in schema["paths"]


def test_ping_stays_constant_and_unauthenticated(api_client):
    response = api_client.get("/api/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "molam-dashboard"}


def test_health_reports_snapshot_age(api_client):
    snapshot_refresh_scope(scope=Scope.platform())
    checks = api_client.get("/api/dashboard/health").json()["checks"]
    assert checks["snapshots"]["ok"] is True
    assert 0 <= checks["snapshots"]["age_s"] < 5


def test_snapshot_age_is_exported_to_prometheus(api_client):
    snapshot_refresh_scope(scope=Scope.platform())
    text = api_client.get("/metrics").content.decode()
    assert 'molam_snapshot_age_seconds{which="platform"}' in text
    assert 'molam_snapshot_computed_timestamp_seconds{scope_kind="platform"}' in text


def test_a_deactivated_user_is_refused_at_once_despite_the_identity_copy(
    client_for, ops_admin, django_capture_on_commit_callbacks
):
    computed("platform")
    client = client_for(ops_admin)
    with override_settings(OVERVIEW_AUTH_CACHE_S=3600):  # the copy alone would serve an hour
        assert get(client).status_code == 200
        assert get(client).status_code == 200  # served from the copy
        with django_capture_on_commit_callbacks(execute=True):  # as the commit would
            ops_admin.is_active = False
            ops_admin.save(update_fields=["is_active"])
        response = get(client)
    assert response.status_code == 401


@pytest.mark.parametrize("change", ["group_permissions", "user_groups", "group_members"])
def test_a_change_of_groups_or_permissions_voids_the_identity_copy(
    client_for, merchant_admin_m1, django_capture_on_commit_callbacks, change
):
    """A role group's permissions or a user's groups changed: the next read checks the
    user in the database again (the copy would otherwise serve for an hour)."""
    from django.contrib.auth.models import Group

    computed("merchant:m_1")
    client = client_for(merchant_admin_m1)
    group = Group.objects.get(name=merchant_admin_m1.role)
    with override_settings(OVERVIEW_AUTH_CACHE_S=3600):
        assert get(client).status_code == 200  # checked, copied
        with CaptureQueriesContext(connection) as queries:
            assert get(client).status_code == 200
        assert not [q for q in queries.captured_queries if "accounts_user" in q["sql"]]
        with django_capture_on_commit_callbacks(execute=True):  # as the commit would
            if change == "group_permissions":
                group.permissions.remove(group.permissions.first())
            elif change == "user_groups":
                merchant_admin_m1.groups.remove(group)
            else:
                group.user_set.remove(merchant_admin_m1)
        with CaptureQueriesContext(connection) as queries:
            get(client)
    assert [q for q in queries.captured_queries if "accounts_user" in q["sql"]]


def test_a_read_from_the_identity_copy_needs_no_query_and_no_redis_round_trip(
    client_for, merchant_admin_m1, monkeypatch, settings
):
    """The identity copy, the auth epoch and the figures: one MGET each for the copy and
    the figures without the mirror, none once the process's mirror holds them."""
    computed("merchant:m_1")
    client = client_for(merchant_admin_m1)
    assert get(client).status_code == 200  # checks the user in the database, copies it
    redis_client = cache.client()
    commands = []
    real = redis_client.execute_command
    monkeypatch.setattr(
        redis_client, "execute_command", lambda *a, **k: commands.append(a[0]) or real(*a, **k)
    )
    assert get(client, period="7d").status_code == 200
    assert commands == ["MGET", "MGET"]  # (mirror off) identity with the epoch; the figures
    settings.REDIS_MIRROR = True
    mirror.clear()
    assert get(client, period="7d").status_code == 200  # read once through the mirror
    assert wait_for(lambda: mirror.stats()["live"])
    assert get(client, period="7d").status_code == 200
    commands.clear()
    with CaptureQueriesContext(connection) as queries:
        response = get(client, period="7d")
        assert commands == []
        series = client.get("/api/dashboard/metrics/attempts/timeseries")
    assert response.status_code == 200 and series.status_code == 200
    assert orjson.loads(response.content)["scope"] == "merchant:m_1"
    assert series.json()["scope"] == "merchant:m_1"
    # Only the time series' own read: no user, permission or group query.
    assert not [q for q in queries.captured_queries if "accounts_user" in q["sql"]]
    assert not [q for q in queries.captured_queries if "auth_permission" in q["sql"]]


def test_one_parsed_identity_copy_serves_every_request_and_cannot_be_changed(
    client_for, merchant_admin_m1
):
    """The parsed copy of the same stored bytes is shared by the process's requests (and
    threads): it refuses every write, and a rewritten copy is parsed again."""
    from dashboard.api import identity

    computed("merchant:m_1")
    client = client_for(merchant_admin_m1)
    with override_settings(OVERVIEW_AUTH_CACHE_S=3600):
        assert get(client).status_code == 200  # checked in the database, copied
        first, epoch = identity.identity_lookup(merchant_admin_m1.pk)
        again, _ = identity.identity_lookup(merchant_admin_m1.pk)
        assert first is again and first.scope_id == "m_1"
        for name in ("scope_id", "is_active", "new_attribute"):
            with pytest.raises(AttributeError):
                setattr(first, name, "x")
        with pytest.raises(AttributeError):
            del first.is_superuser
        identity.identity_remember(merchant_admin_m1, epoch)  # a new check writes new bytes
        renewed, _ = identity.identity_lookup(merchant_admin_m1.pk)
    assert renewed is not first and renewed.checked_at >= first.checked_at
