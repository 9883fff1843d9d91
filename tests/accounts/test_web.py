"""The product's sign-in, each role's home and navigation, lockout, and the admin's doors."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _sign_in(client, username, password="pw-test-1234", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_anonymous_root_and_pages_go_to_the_sign_in_page(client):
    assert client.get("/")["Location"] == "/login"
    response = client.get("/overview")
    assert response.status_code == 302 and response["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "fixture", ["ops_admin", "finance_ops", "merchant_admin_m1", "agent_user", "region_sn"]
)
def test_every_role_signs_in_on_the_product_page_and_lands_on_its_home(client, request, fixture):
    user = request.getfixturevalue(fixture)
    response = _sign_in(client, user.username)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/home"
    page = client.get("/home")
    assert page.status_code == 200
    assert user.username.encode() in page.content


def test_wrong_password_shows_the_form_again_with_an_error(client, ops_admin):
    response = _sign_in(client, "ops_admin", "nope")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, ops_admin):
    for _ in range(5):
        _sign_in(client, "ops_admin", "nope", REMOTE_ADDR="10.0.0.7")
    locked = _sign_in(client, "ops_admin", REMOTE_ADDR="10.0.0.7")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session
    # The same lockout guards the JWT endpoint (one count for every door).
    token = client.post(
        "/api/auth/token/",
        {"username": "ops_admin", "password": "pw-test-1234"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.7",
    )
    assert token.status_code in (401, 403, 429) and "access" not in token.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(client, merchant_admin_m1):
    client.force_login(merchant_admin_m1)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/overview").status_code == 302


def test_password_change_needs_the_old_password(client, merchant_admin_m1):
    client.force_login(merchant_admin_m1)
    bad = client.post(
        reverse("password_change"),
        {
            "old_password": "nope",
            "new_password1": "Xq9!long-pass",
            "new_password2": "Xq9!long-pass",
        },
    )
    assert bad.status_code == 200 and b"old password" in bad.content.lower()
    good = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-test-1234",
            "new_password1": "Xq9!long-pass",
            "new_password2": "Xq9!long-pass",
        },
    )
    assert good.status_code == 302
    merchant_admin_m1.refresh_from_db()
    assert merchant_admin_m1.check_password("Xq9!long-pass")


def test_a_role_less_account_has_no_page(client, outsider):
    client.force_login(outsider)
    assert client.get("/").status_code == 403


def test_navigation_shows_only_the_pages_of_the_role(client, merchant_admin_m1, ops_admin):
    client.force_login(merchant_admin_m1)
    page = client.get("/overview").content.decode()
    assert 'href="/overview"' in page
    assert "/admin/" not in page  # merchants never see the admin
    client.force_login(ops_admin)
    assert "/admin/" in client.get("/overview").content.decode()


def test_admin_login_sends_staff_to_the_product_sign_in(client, merchant_admin_m1):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fadmin%2F"
    client.force_login(merchant_admin_m1)
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    assert client.get("/admin/").status_code == 302  # not staff: the admin never opens


def test_unknown_page_is_a_friendly_404_and_api_paths_answer_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert b"Page not found" in page.content and b"Traceback" not in page.content
    api = client.get("/api/dashboard/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not found.", "code": "not_found"}


def test_french_is_chosen_from_the_browser_language(client, merchant_admin_m1):
    page = client.get("/login", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert b'<html lang="fr">' in page.content


@pytest.mark.parametrize(
    ("role", "scope", "reads", "reprocesses"),
    [
        (Role.OPS_ADMIN, "platform", True, True),
        (Role.PAY_ADMIN, "platform", True, True),
        (Role.FINANCE_OPS, "platform", True, False),
        (Role.OPS_ADMIN, "region:SN", False, False),
        (Role.FINANCE_OPS, "bank:b_1", False, False),
    ],
)
def test_dead_letters_in_the_admin_follow_the_role(client, role, scope, reads, reprocesses):
    from dashboard.ingest.services import ingest

    ingest([b"\x00garbage"])  # one dead letter, so the list has rows
    user = make_user(f"u_{role}_{scope.replace(':', '_')}", role, scope)
    client.force_login(user)
    url = reverse("admin:dashboard_deadletter_changelist")
    response = client.get(url)
    assert response.status_code == (200 if reads else 403)
    if reads:
        assert (b"reprocess_selected" in response.content) is reprocesses


def test_fx_rates_are_managed_by_finance_ops_and_read_by_other_staff(
    client, finance_ops, ops_admin
):
    client.force_login(finance_ops)
    add = reverse("admin:dashboard_fxrate_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {"currency": "GHS", "quote_currency": "XOF", "rate_date": "2026-11-01", "rate": "52.5"},
    )
    assert response.status_code == 302
    from dashboard.models import FxRate

    rate = FxRate.objects.get(currency="GHS", quote_currency="XOF", rate_date="2026-11-01")
    assert str(rate.rate.normalize()) == "52.5"
    client.force_login(ops_admin)
    assert client.get(reverse("admin:dashboard_fxrate_changelist")).status_code == 200
    assert client.get(add).status_code == 403


def test_superuser_sees_every_admin_model(admin_client):
    for name in ("dashboard_deadletter", "dashboard_fxrate", "opsactions_opsaction"):
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


def test_platform_staff_browse_agents_in_the_admin_read_only(client, finance_ops, region_sn):
    client.force_login(finance_ops)
    assert client.get(reverse("admin:agents_agent_changelist")).status_code == 200
    assert client.get(reverse("admin:agents_agent_add")).status_code == 403
    client.force_login(region_sn)  # every agent of every country: platform staff only
    assert client.get(reverse("admin:agents_agent_changelist")).status_code == 403
