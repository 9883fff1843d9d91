"""The API-wide error shape holds for any bad input: {"detail", "code"} (+ "errors" on 400)."""

import json

import pytest

from common.api import exception_handler
from common.errors import ValidationFailed

OPS = "/api/dashboard/ops/actions"


def assert_error_shape(response, status=400):
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and isinstance(body["code"], str)
    if status == 400:
        assert body["errors"] and all(isinstance(v, list) for v in body["errors"].values())
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("data", ["{not json", "\x00", '{"a": NaN}'])
def test_unparseable_json_is_a_400_with_errors(api_client, data):
    response = api_client.post("/api/auth/token/", data=data, content_type="application/json")
    body = assert_error_shape(response)
    assert body["code"] == "parse_error"


@pytest.mark.django_db
def test_multipart_without_boundary_is_a_400_with_errors(api_client):
    response = api_client.post("/api/auth/token/", data="x", content_type="multipart/form-data")
    assert_error_shape(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        # A JSON escape of a lone surrogate is valid JSON but not encodable UTF-8: an error
        # message echoing it could not be rendered (500).
        '{"action_type": "\\ud800", "target": "merchant:m_1", "reason": "x"}',
        '{"action_type": "PAUSE_PAYOUT", "target": "merchant:m_1", "params": {"\\ud800": 1},'
        ' "reason": "x"}',
    ],
)
def test_lone_surrogates_echoed_in_errors_do_not_500(client_for, ops_admin, body):
    response = client_for(ops_admin).post(OPS, data=body, content_type="application/json")
    body = assert_error_shape(response)
    assert "\\ud800" in json.dumps(body["errors"], ensure_ascii=False)


def test_domain_400_without_field_errors_still_carries_errors():
    response = exception_handler(ValidationFailed("username and password are required."), {})
    assert response.status_code == 400
    assert response.data == {
        "detail": "username and password are required.",
        "code": "invalid",
        "errors": {"non_field_errors": ["username and password are required."]},
    }
