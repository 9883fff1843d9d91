from datetime import timedelta

import jwt
import pytest
from rest_framework_simplejwt.tokens import AccessToken

from accounts.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _login(api_client, username, password="pw-test-1234"):
    return api_client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_login_returns_access_and_refresh_tokens_that_authenticate(api_client, ops_admin):
    response = _login(api_client, "ops_admin")
    assert response.status_code == 200
    tokens = response.json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "ops_admin"
    assert me.json()["scope"] == "platform"


def test_refresh_gives_a_new_working_access_token(api_client, ops_admin):
    refresh = _login(api_client, "ops_admin").json()["refresh"]
    response = api_client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api_client.get("/api/auth/me/").status_code == 200


def test_wrong_password_is_401_in_the_error_shape(api_client, ops_admin):
    response = _login(api_client, "ops_admin", "wrong")
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {"detail", "code"}


def test_expired_token_is_rejected(api_client, ops_admin):
    token = AccessToken.for_user(ops_admin)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_forged_token_signed_with_another_key_is_rejected(api_client, ops_admin):
    genuine = AccessToken.for_user(ops_admin)
    forged = jwt.encode(dict(genuine.payload), "attacker-key-" + "x" * 40, algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_token_of_a_deactivated_user_is_rejected(api_client, client_for, ops_admin):
    client = client_for(ops_admin)
    ops_admin.is_active = False
    ops_admin.save(update_fields=["is_active"])
    assert client.get("/api/auth/me/").status_code == 401


def test_anonymous_request_is_401(api_client):
    response = api_client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("role", "scope", "has", "lacks"),
    [
        (Role.OPS_ADMIN, "platform", {"approve_ops_action", "view_platform"}, set()),
        (Role.FINANCE_OPS, "platform", {"manage_fx_rates"}, {"execute_ops_action"}),
        (
            Role.MERCHANT_ADMIN,
            "merchant:m_9",
            {"view_own_tenant"},
            {"view_platform", "request_ops_action", "approve_ops_action"},
        ),
        (Role.AGENT, "agent:a_9", {"view_agents_map"}, {"view_platform", "request_ops_action"}),
        (
            Role.SIRA_SERVICE,
            "platform",
            {"publish_sira_recommendation"},
            {"approve_ops_action", "execute_ops_action"},
        ),
    ],
)
def test_role_groups_carry_their_permissions(client_for, role, scope, has, lacks):
    user = make_user(f"u_{role}", role, scope)
    perms = set(client_for(user).get("/api/auth/me/").json()["permissions"])
    assert has <= perms
    assert not (lacks & perms)
