"""API-wide rules: the OpenAPI schema, the error shape, metrics."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_openapi_schema_generates_without_warnings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            "/dev/null",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.django_db
def test_schema_and_docs_are_served(api_client):
    assert api_client.get("/api/schema/").status_code == 200
    assert api_client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_malformed_json_body_is_a_400_in_the_error_shape(api_client):
    response = api_client.post(
        "/api/auth/token/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_missing_login_fields_are_field_errors(api_client):
    response = api_client.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "required"
    assert set(body["errors"]) == {"username", "password"}


@pytest.mark.django_db
def test_prometheus_metrics_are_exported(api_client):
    api_client.get("/api/ping")
    response = api_client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_latency_seconds_by_view_method" in response.content
