"""Server-rendered pages: session login, and the same tenant-scope rules as the API."""

import pytest

pytestmark = pytest.mark.django_db


def test_overview_page_needs_a_login(client):
    response = client.get("/overview")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_sees_any_scope_on_the_overview_page(client, ops_admin):
    client.force_login(ops_admin)
    response = client.get("/overview", {"scope": "merchant:m_7", "period": "7d"})
    assert response.status_code == 200
    assert b"merchant:m_7" in response.content


def test_merchant_page_shows_its_own_scope_and_refuses_another(client, merchant_admin_m1):
    client.force_login(merchant_admin_m1)
    own = client.get("/overview")
    assert own.status_code == 200
    assert b"merchant:m_1" in own.content
    other = client.get("/overview", {"scope": "merchant:m_2"})
    assert other.status_code == 403
    assert b"merchant:m_2" in other.content  # the refusal names it; no figures are shown
    assert b"Counts" not in other.content


def test_bad_period_is_a_400_page(client, ops_admin):
    client.force_login(ops_admin)
    assert client.get("/overview", {"period": "year"}).status_code == 400
