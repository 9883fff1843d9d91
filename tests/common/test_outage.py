"""A REAL database outage (the connection pointed at a port nothing listens on, so every
connect is refused by the kernel): the overview keeps serving Redis, flagged stale and
degraded; other API paths answer JSON 503 with Retry-After; pages a friendly HTML 503.
"""

import json
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test import Client, override_settings

from common import outage
from common.redis_mirror import mirror
from dashboard.snapshots import cache
from tests.dashboard.test_snapshots_support import clean_overview_cache  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_overview_cache"),
]
OVERVIEW = "/api/dashboard/overview"


def closed_port():
    """A local port with no listener: a connect there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_outage():
    conn = connections["default"]
    settings_dict = conn.settings_dict
    saved = settings_dict["HOST"], settings_dict["PORT"]
    conn.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(closed_port())
    try:
        yield
    finally:
        conn.close()
        settings_dict["HOST"], settings_dict["PORT"] = saved
        outage.note_success()


@pytest.fixture(autouse=True)
def fresh_caches():
    mirror.clear()
    outage.note_success()
    yield
    outage.note_success()


def stored_snapshot(scope_text, period="24h", age_s=0):
    now = datetime.now(UTC)
    body = json.dumps({"stale": False, "scope": scope_text, "marker": 7}, separators=(",", ":"))
    computed = now - timedelta(seconds=age_s)
    cache.store(scope_text, {period: (body.encode(), computed, now + timedelta(minutes=30))})


def assert_json_503(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "service_unavailable",
    }
    assert int(response["Retry-After"]) > 0


# ------------------------------------------------------------------ overview: degraded, not down


@override_settings(OVERVIEW_AUTH_CACHE_S=0)  # every request checks the user in the database
def test_overview_serves_the_redis_snapshot_flagged_stale_during_an_outage(
    client_for, ops_admin, merchant_admin_m1
):
    stored_snapshot("platform")
    stored_snapshot("merchant:m_1")
    staff, merchant = client_for(ops_admin), client_for(merchant_admin_m1)
    before = staff.get(OVERVIEW)
    assert before.status_code == 200 and before.json()["stale"] is False
    assert "degraded" not in before.json()
    assert merchant.get(OVERVIEW).status_code == 200  # leaves its identity copy too

    with database_outage():
        response = staff.get(OVERVIEW)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["stale"] is True and body["degraded"] is True
        assert body["stale_reason"] == "database_unavailable"
        assert body["scope"] == "platform" and body["marker"] == 7
        # Scope rules still hold on the copied identity.
        assert merchant.get(OVERVIEW).json()["scope"] == "merchant:m_1"
        forbidden = merchant.get(OVERVIEW, {"scope": "platform"})
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "scope_forbidden"
        # A forged token is still refused: the signature needs no database.
        bad = Client(HTTP_AUTHORIZATION="Bearer not.a.token").get(OVERVIEW)
        assert bad.status_code == 401

    mirror.clear()
    after = staff.get(OVERVIEW).json()
    assert after["stale"] is False and "degraded" not in after


@override_settings(OVERVIEW_AUTH_CACHE_S=0)
def test_overview_without_a_snapshot_in_redis_is_a_json_503(client_for, ops_admin):
    client = client_for(ops_admin)
    stored_snapshot("platform")
    assert client.get(OVERVIEW).status_code == 200
    with database_outage():
        assert_json_503(client.get(OVERVIEW, {"scope": "merchant:never_seen"}))


@override_settings(OVERVIEW_AUTH_CACHE_S=0)
def test_overview_for_a_user_never_checked_is_a_json_503(client_for, finance_ops):
    stored_snapshot("platform")
    client = client_for(finance_ops)  # a valid token, but no request before the outage
    with database_outage():
        assert_json_503(client.get(OVERVIEW))


@override_settings(OVERVIEW_AUTH_CACHE_S=0)
def test_a_deactivated_user_is_not_served_from_the_copy(client_for, ops_admin, finance_ops):
    stored_snapshot("platform")
    gone, kept = client_for(ops_admin), client_for(finance_ops)
    assert gone.get(OVERVIEW).status_code == 200
    assert kept.get(OVERVIEW).status_code == 200
    ops_admin.is_active = False
    ops_admin.save(update_fields=["is_active"])  # commits at once (transactional test)
    # The deactivation moved the auth epoch: every copy made before it is void; a user
    # checked again afterwards has a new one.
    assert kept.get(OVERVIEW).status_code == 200
    with database_outage():
        assert_json_503(gone.get(OVERVIEW))
        assert kept.get(OVERVIEW).status_code == 200


@override_settings(OVERVIEW_AUTH_CACHE_S=0, OUTAGE_AUTH_CACHE_S=0)
def test_without_identity_copies_every_overview_is_503_in_an_outage(client_for, ops_admin):
    stored_snapshot("platform")
    client = client_for(ops_admin)
    assert client.get(OVERVIEW).status_code == 200
    with database_outage():
        assert_json_503(client.get(OVERVIEW))


# ------------------------------------------------------------------ the rest of the API


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/dashboard/ops/actions"),
        ("get", "/api/dashboard/ops/actions/1"),
        ("post", "/api/dashboard/ops/actions/1/approve"),
        ("get", "/api/dashboard/metrics/gmv/timeseries?currency=XOF"),
        ("get", "/api/dashboard/metrics/gmv/timeseries?currency=XOF&format=csv"),
        ("get", "/api/dashboard/agents/nearby?lat=14.7&lng=-17.4"),
        ("get", "/api/dashboard/agents/a_1"),
        ("get", "/api/auth/me/"),
    ],
)
def test_other_api_paths_answer_json_503_with_retry_after(client_for, ops_admin, method, path):
    client = client_for(ops_admin)
    with database_outage():
        response = getattr(client, method)(path)
    assert_json_503(response)


def test_token_endpoint_answers_json_503(api_client):
    with database_outage():
        response = api_client.post(
            "/api/auth/token/", {"username": "x", "password": "y"}, format="json"
        )
    assert_json_503(response)


# ------------------------------------------------------------------ pages


def test_pages_answer_a_friendly_html_503(ops_admin):
    client = Client(raise_request_exception=False)
    client.force_login(ops_admin)
    with database_outage():
        responses = [client.get("/overview"), client.get("/ops"), client.get("/")]
    for response in responses:
        assert response.status_code == 503, response.content[:300]
        assert response["Content-Type"].startswith("text/html")
        assert int(response["Retry-After"]) > 0
        text = response.content.decode()
        assert "Temporarily unavailable" in text
        assert "Traceback" not in text and "OperationalError" not in text


def test_the_503_page_is_in_french_for_a_french_browser(ops_admin):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(ops_admin)
    with database_outage():
        response = client.get("/overview")
    assert response.status_code == 503
    assert "Temporairement indisponible" in response.content.decode()


def test_the_database_is_back_after_the_outage(client_for, ops_admin):
    client = client_for(ops_admin)
    with database_outage():
        assert_json_503(client.get("/api/dashboard/ops/actions"))
    assert client.get("/api/dashboard/ops/actions").status_code == 200
