"""CSRF: every form that posts carries the token, every session POST without it is refused
(403) while the same POST with it goes through, and no view skips the check unseen."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from accounts.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates"] + [
    p for p in Path(settings.BASE_DIR).glob("*/templates") if ".venv" not in p.parts
]
POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    forms = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            for body in POST_FORM.findall(path.read_text()):
                forms.append((path.relative_to(settings.BASE_DIR), "{% csrf_token %}" in body))
    assert len(forms) >= 8  # login, logout, password, language, ops forms, admin transition
    assert [str(p) for p, ok in forms if not ok] == []


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_no_view_is_csrf_exempt_except_the_api_which_checks_it_itself():
    """DRF's views are exempt from Django's middleware because DRF itself enforces CSRF
    for session-authenticated requests (SessionAuthentication.enforce_csrf); a JWT
    request carries no cookie to forge. Anything else exempt must be listed here."""
    allowed = {}  # route -> reason
    exempt = []
    for route, callback in _walk(get_resolver().url_patterns):
        if not getattr(callback, "csrf_exempt", False):
            continue
        cls = getattr(callback, "cls", None)
        if cls is not None and issubclass(cls, APIView):
            continue
        if route.startswith("admin/"):
            continue  # the admin's own views (its JS catalog, redirects): Django's, read-only
        if route in allowed:
            continue
        exempt.append(route)
    assert exempt == []


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _token(client, url):
    client.get(url)
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_sign_in_without_the_token_is_403_and_with_it_signs_in(csrf_client, ops_admin):
    data = {"username": "ops_admin", "password": "pw-test-1234"}
    refused = csrf_client.post("/login", data)
    assert refused.status_code == 403
    assert "_auth_user_id" not in csrf_client.session
    data["csrfmiddlewaretoken"] = _token(csrf_client, "/login")
    assert csrf_client.post("/login", data).status_code == 302
    assert csrf_client.session["_auth_user_id"] == str(ops_admin.pk)


SESSION_POSTS = [
    ("/logout", {}),
    (
        "/password",
        {
            "old_password": "pw-test-1234",
            "new_password1": "N3w-pass-wOrd!",
            "new_password2": "N3w-pass-wOrd!",
        },
    ),  # noqa: E501
    ("/i18n/setlang/", {"language": "fr", "next": "/overview"}),
    ("/ops/new", {"action_type": "pause_payouts", "target": "merchant:m_1", "reason": "x"}),
    ("/ops/preview", {"action_type": "pause_payouts", "target": "merchant:m_1"}),
    ("/ops/1/approve", {}),
    ("/ops/1/reject", {}),
    ("/ops/1/execute", {}),
    ("/ops/1/rollback", {}),
    ("/ops/1/cancel", {}),
    ("/admin/accounts/user/add/", {"username": "mallory", "password1": "x", "password2": "x"}),
    ("/api/dashboard/ops/actions", {"action_type": "pause_payouts", "target": "merchant:m_1"}),
    ("/api/auth/logout/", {"refresh": "x"}),
]


@pytest.mark.parametrize(("url", "data"), SESSION_POSTS, ids=[u for u, _ in SESSION_POSTS])
def test_a_signed_in_post_without_the_csrf_token_is_403(csrf_client, url, data):
    user = make_user("csrf_ops", Role.OPS_ADMIN)
    user.is_superuser = True
    user.save()
    csrf_client.force_login(user)
    _token(csrf_client, "/overview")  # the browser has the cookie; the forged form has no token
    before = user.password
    response = csrf_client.post(url, data)
    if url == "/api/auth/logout/":
        # Authenticated by the refresh token in the body, never by the session cookie: a
        # forged cross-site POST could only revoke a token it already holds. Not a CSRF hole.
        assert response.status_code == 401
        return
    assert response.status_code == 403, (url, response.status_code)
    assert b"CSRF" in response.content, response.content[:300]
    user.refresh_from_db()
    assert user.password == before and user.is_active
    assert csrf_client.session.get("_auth_user_id") == str(user.pk)  # not logged out


def test_the_same_post_with_the_token_passes_the_check(csrf_client):
    user = make_user("csrf_ops", Role.OPS_ADMIN)
    csrf_client.force_login(user)
    token = _token(csrf_client, "/overview")
    response = csrf_client.post(
        "/i18n/setlang/", {"language": "fr", "next": "/overview", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    response = csrf_client.post("/logout", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "_auth_user_id" not in csrf_client.session
