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


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/does-not-exist",
        "/api",
        "/api/dashboard/ops/actions/abc",
        "/api/dashboard/ops/actions/abc/approve",
        "/api/dashboard/ops/actions/1.5",
        "/api/dashboard/opsactions/abc",
        "/api/dashboard/ops/actions/99999999999999999999",
    ],
)
@pytest.mark.parametrize("accept", ["application/json", "text/html,*/*;q=0.8"])
def test_unmatched_api_urls_and_bad_ids_are_json_404(client_for, ops_admin, path, accept):
    response = client_for(ops_admin).get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["code"].endswith("not_found")


@pytest.mark.django_db
def test_wrong_method_is_json_405_with_allow(client_for, ops_admin, api_client):
    plain = api_client.post("/api/ping")  # a plain Django view (require_GET)
    assert plain.status_code == 405
    assert plain.json() == {"detail": "Method Not Allowed.", "code": "method_not_allowed"}
    assert plain["Allow"] == "GET"
    drf = client_for(ops_admin).get("/api/dashboard/ops/actions/1/approve", HTTP_ACCEPT="text/html")
    assert drf.status_code == 405
    assert drf["Content-Type"] == "application/json"
    assert drf.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_errors_are_json_even_when_csv_or_html_was_asked(client_for, ops_admin):
    client = client_for(ops_admin)
    csv = client.get("/api/dashboard/metrics/gmv/timeseries", {"format": "csv"})
    assert csv.status_code == 400
    assert csv["Content-Type"] == "application/json"
    assert csv.json()["errors"]["currency"]
    html = client.post("/api/dashboard/ops/actions", {}, format="json", HTTP_ACCEPT="text/html")
    assert html.status_code == 400
    assert html["Content-Type"] == "application/json"
    assert html.json()["errors"]


@pytest.mark.django_db
def test_an_api_server_error_is_json_500(client_for, ops_admin, monkeypatch):
    """A bug (not an outage) stays a 500, in the JSON error shape."""
    from dashboard.api import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "series_body", broken)
    client = client_for(ops_admin)
    client.raise_request_exception = False
    response = client.get("/api/dashboard/metrics/attempts/timeseries")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error.", "code": "server_error"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        # fromisoformat would take these; the schema's RFC 3339 pattern does not, nor does the API.
        ({"from": "2026-W48-1T01:00:00+00:00"}, "from"),
        ({"from": "2026-11-27T10:00+00:00"}, "from"),  # no seconds
        ({"to": "2026-11-27 10:00:00Z"}, "to"),  # space separator
        ({"to": "2026-11-27T10:00:00+0100"}, "to"),
        ({"to": " 2026-11-27T10:00:00Z"}, "to"),
        ({"currency": "xof"}, "currency"),
        ({"scope": "galaxy:1"}, "scope"),
    ],
)
def test_timeseries_refuses_what_the_schema_refuses(client_for, ops_admin, params, field):
    response = client_for(ops_admin).get("/api/dashboard/metrics/attempts/timeseries", params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_timeseries_takes_rfc3339_with_fractions_and_unencoded_offsets(client_for, ops_admin):
    client = client_for(ops_admin)
    for to in ("2026-11-27T10:00:00.123456Z", "2026-11-27T10:00:00 01:00", "2026-11-27T10:00:00Z"):
        response = client.get("/api/dashboard/metrics/attempts/timeseries", {"to": to})
        assert response.status_code == 200, (to, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bbox", ["1e1,14,20,15", "+1,14,2,15", " -17,14,-16,15", "-17,14,-16,15\n"]
)
def test_clusters_bbox_is_four_plain_numbers(client_for, ops_admin, bbox):
    response = client_for(ops_admin).get(
        "/api/dashboard/agents/clusters", {"bbox": bbox, "zoom": "5"}
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["bbox"]


def test_schema_states_the_input_limits():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    def param(path, name):
        params = paths[path]["get"]["parameters"]
        return next(p["schema"] for p in params if p["name"] == name)

    series = "/api/dashboard/metrics/{metric}/timeseries"
    assert "merchant|agent|bank" in param("/api/dashboard/overview", "scope")["pattern"]
    assert param(series, "from")["pattern"].startswith("^([0-9]{4}-")
    assert param(series, "currency")["pattern"] == "^([A-Z]{3})?$"
    assert param("/api/dashboard/agents/clusters", "bbox")["pattern"].endswith("){3}$")
    assert param("/api/dashboard/ops/actions", "target")["pattern"].endswith(")?$")
    assert param("/api/dashboard/ops/actions", "limit")["maximum"] == 500
