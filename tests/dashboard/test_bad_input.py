"""Bad input to the dashboard API is a 400 in the error shape, never a 500."""

import pytest

pytestmark = pytest.mark.django_db

TIMESERIES = "/api/dashboard/metrics/attempts/timeseries"


@pytest.fixture
def staff(client_for, ops_admin):
    return client_for(ops_admin)


def assert_400(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert {"detail", "code", "errors"} <= body.keys()
    assert field in body["errors"], body


@pytest.mark.parametrize(
    "field, value",
    [
        ("from", "0001-01-01T00:00:00+14:00"),  # astimezone(UTC) overflows
        ("from", "9999-12-31T23:59:59-14:00"),
        ("to", "9999-12-31T23:59:59Z"),  # rounding up to the next bucket overflows
        ("to", "0001-01-01T00:00:00Z"),  # the default `from` (to - 24 h) overflows
        ("to", "0001-01-01T00:00:00+14:00"),
    ],
)
def test_timeseries_out_of_range_timestamps_are_400(staff, field, value):
    assert_400(staff.get(TIMESERIES, {field: value}), field)


@pytest.mark.parametrize("field", ["region", "city"])
def test_timeseries_nul_in_geo_filter_is_400(staff, field):
    assert_400(staff.get(TIMESERIES, {field: "Da\x00kar"}), field)


@pytest.mark.parametrize("field, value", [("currency", "XOF\n"), ("country", "SN\n")])
def test_timeseries_codes_with_a_trailing_newline_are_400(staff, field, value):
    params = {field: value}
    assert_400(staff.get("/api/dashboard/metrics/gmv/timeseries", params), field)


def test_overview_405_names_the_allowed_methods(staff):
    response = staff.generic("TRACE", "/api/dashboard/overview")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_timeseries_documents_its_error_responses():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    responses = paths["/api/dashboard/metrics/{metric}/timeseries"]["get"]["responses"]
    assert {"400", "401", "403"} <= responses.keys()
