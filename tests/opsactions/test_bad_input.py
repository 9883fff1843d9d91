"""Bad input to the ops-actions API is a 400 in the error shape, never a 500."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/ops/actions"
PAUSE = {
    "action_type": "PAUSE_PAYOUT",
    "target": "merchant:m_1042",
    "params": {},
    "reason": "bank outage",
}


@pytest.fixture
def staff(client_for, ops_admin):
    return client_for(ops_admin)


def assert_400(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert {"detail", "code", "errors"} <= body.keys()
    assert field in body["errors"], body


@pytest.mark.parametrize("value", ["P99999999999D", "PT99999999999999H", "P999999999999W"])
def test_overflowing_effect_duration_is_400(staff, value):
    response = staff.post(URL, {**PAUSE, "expires_after": value}, format="json")
    assert_400(response, "expires_after")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "99999999999999999999999999"},  # past bigint: the database refused (500)
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "abc"},
        {"limit": "501"},
        {"offset": "-1"},
        {"offset": "null"},
        {"offset": "1e3"},
    ],
)
def test_bad_paging_parameters_are_400(staff, request_action, ops_admin, params):
    request_action(ops_admin)  # with no rows DRF answers before it slices
    [field] = params
    assert_400(staff.get(URL, params), field)


def test_good_paging_parameters_still_page(staff, request_action, ops_admin):
    request_action(ops_admin, target="merchant:m_1")
    request_action(ops_admin, target="merchant:m_2")
    body = staff.get(URL, {"limit": "1", "offset": "1"}).json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert staff.get(URL, {"offset": "99999999999999999999999"}).json()["results"] == []
