"""Widgets API: defaults after migrate, tenant rules for every verb, copy on first change,
atomic layout update, reset to default."""

import importlib

import pytest
from django.apps import apps as django_apps

from dashboard.models import Widget
from dashboard.widgets.defaults import DEFAULT_LAYOUTS

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/widgets"


def _layout(client, scope=""):
    response = client.get(URL, {"scope": scope} if scope else {})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_migration_writes_the_default_layouts_once():
    # Transactional tests empty every table, so the migration's function is run here on an
    # empty table (what `migrate` does on a new database), then again: nothing doubles.
    migration = importlib.import_module("dashboard.migrations.0011_default_widgets")
    Widget.objects.filter(owner=None, scope_id="").delete()
    for _ in range(2):
        migration.add_defaults(django_apps, None)
        platform = Widget.objects.filter(scope_kind="platform", scope_id="", owner=None)
        assert sorted(platform.values_list("type", flat=True)) == sorted(
            ["chart_line", "gauge", "table", "chart_bar", "map", "alert_list"]
        )
        for kind in ("merchant", "agent", "bank", "region"):
            assert Widget.objects.filter(scope_kind=kind, scope_id="", owner=None).count() == len(
                DEFAULT_LAYOUTS[kind]
            )


def test_default_configs_pass_their_schemas(ops_admin):
    from dashboard.widgets.schemas import validate_config
    from dashboard.widgets.services import validate_position

    for w in Widget.objects.filter(owner=None, scope_id=""):
        validate_config(w.type, w.config, w.scope_kind)
        validate_position(w.position)


def test_merchant_sees_its_kind_default_and_scope(client_for, merchant_admin_m1):
    widgets = _layout(client_for(merchant_admin_m1))
    assert widgets and {w["scope"] for w in widgets} == {"merchant:m_1"}
    assert all(w["owner"] is None and w["is_default"] for w in widgets)


def test_first_move_copies_the_layout_for_the_user_only(
    client_for, merchant_admin_m1, merchant_admin_m2
):
    c1 = client_for(merchant_admin_m1)
    shown = _layout(c1)
    first = shown[0]
    r = c1.patch(f"{URL}/{first['id']}", {"position": {"x": 0, "y": 30, "w": 6, "h": 3}},
                 format="json")  # fmt: skip
    assert r.status_code == 200, r.content
    moved = r.json()
    assert moved["id"] != first["id"] and moved["owner"] == "merchant_admin_m1"
    assert moved["position"] == {"x": 0, "y": 30, "w": 6, "h": 3}
    mine = _layout(c1)
    assert len(mine) == len(shown) and all(w["owner"] == "merchant_admin_m1" for w in mine)
    # The other merchant still sees the untouched default.
    other = _layout(client_for(merchant_admin_m2))
    assert all(w["is_default"] for w in other)
    # The default row itself did not move.
    assert Widget.objects.get(pk=first["id"]).position == first["position"]


def test_another_tenants_widget_is_404_for_every_verb(
    client_for, merchant_admin_m1, merchant_admin_m2
):
    c1, c2 = client_for(merchant_admin_m1), client_for(merchant_admin_m2)
    created = c1.post(
        URL, {"type": "gauge", "title": "Mine", "config": {"figure": "attempts", "max": 100}},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    wid = created.json()["id"]
    assert c2.get(f"{URL}/{wid}").status_code == 404
    assert c2.get(f"{URL}/{wid}/data").status_code == 404
    assert c2.patch(f"{URL}/{wid}", {"title": "x"}, format="json").status_code == 404
    assert c2.put(f"{URL}/{wid}", {"title": "x"}, format="json").status_code == 404
    assert c2.delete(f"{URL}/{wid}").status_code == 404
    r = c2.post(f"{URL}/layout", {"items": [{"id": wid, "x": 0, "y": 0, "w": 2, "h": 2}]},
                format="json")  # fmt: skip
    assert r.status_code == 400 and "items.0.id" in r.json()["errors"]
    assert Widget.objects.get(pk=wid).title == "Mine"
    assert c1.get(f"{URL}/{wid}").status_code == 200


def test_another_users_personal_widget_is_404_even_for_staff(
    client_for, merchant_admin_m1, ops_admin
):
    c1 = client_for(merchant_admin_m1)
    wid = c1.post(URL, {"type": "list", "title": "Feed"}, format="json").json()["id"]
    staff = client_for(ops_admin)
    assert staff.get(f"{URL}/{wid}").status_code == 404
    assert staff.delete(f"{URL}/{wid}").status_code == 404


def test_merchant_cannot_point_a_widget_at_another_scope(client_for, merchant_admin_m1):
    c1 = client_for(merchant_admin_m1)
    for call in (
        lambda: c1.post(URL, {"scope": "merchant:m_2", "type": "list", "title": "x"},
                        format="json"),
        lambda: c1.get(URL, {"scope": "merchant:m_2"}),
        lambda: c1.get(URL, {"scope": "platform"}),
        lambda: c1.post(f"{URL}/reset", {"scope": "merchant:m_2"}, format="json"),
        lambda: c1.post(f"{URL}/layout", {"scope": "merchant:m_2",
                        "items": [{"id": 1, "x": 0, "y": 0, "w": 1, "h": 1}]}, format="json"),
        lambda: c1.get(f"{URL}/types", {"scope": "platform"}),
    ):  # fmt: skip
        r = call()
        assert r.status_code == 403, r.content
        assert r.json()["code"] == "scope_forbidden"
    assert not Widget.objects.filter(owner=merchant_admin_m1).exists()


def test_accounts_without_dashboards_get_403(client_for, outsider, api_client):
    assert client_for(outsider).get(URL).status_code == 403
    assert api_client.get(URL).status_code == 401


def test_bad_config_is_400_naming_the_field(client_for, ops_admin):
    staff = client_for(ops_admin)
    r = staff.post(URL, {"type": "chart_line", "title": "x", "config": {"metric": "gmv"}},
                   format="json")  # fmt: skip
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["config.currency"]
    r = staff.post(
        URL,
        {
            "type": "gauge",
            "title": "x",
            "config": {"figure": "gmv", "currency": "XOF", "min": 5, "max": 1, "colour": "red"},
        },
        format="json",
    )
    assert set(r.json()["errors"]) == {"config.colour"}
    r = staff.post(URL, {"type": "table", "title": "x", "position": {"x": 10, "y": 0, "w": 4,
                   "h": 2}}, format="json")  # fmt: skip
    assert r.status_code == 400 and list(r.json()["errors"]) == ["position.w"]


def test_layout_update_is_all_or_nothing(client_for, ops_admin):
    staff = client_for(ops_admin)
    shown = _layout(staff)
    good = {"id": shown[0]["id"], "x": 0, "y": 50, "w": 3, "h": 3}
    bad = {"id": shown[1]["id"], "x": 11, "y": 0, "w": 3, "h": 3}
    r = staff.post(f"{URL}/layout", {"items": [good, bad]}, format="json")
    assert r.status_code == 400 and list(r.json()["errors"]) == ["items.1.w"]
    assert not Widget.objects.filter(owner=ops_admin).exists()  # not even the copy
    unknown = {"id": 987654321, "x": 0, "y": 0, "w": 3, "h": 3}
    r = staff.post(f"{URL}/layout", {"items": [good, unknown]}, format="json")
    assert r.status_code == 400 and list(r.json()["errors"]) == ["items.1.id"]
    assert not Widget.objects.filter(owner=ops_admin).exists()
    r = staff.post(f"{URL}/layout", {"items": [good, {**bad, "x": 9}]}, format="json")
    assert r.status_code == 200, r.content
    positions = {w["title"]: w["position"] for w in r.json()}
    assert positions[shown[0]["title"]] == {"x": 0, "y": 50, "w": 3, "h": 3}
    assert positions[shown[1]["title"]] == {"x": 9, "y": 0, "w": 3, "h": 3}


def test_reset_to_default_drops_the_users_layout(client_for, agent_user):
    c = client_for(agent_user)
    default = _layout(c)
    wid = default[0]["id"]
    assert c.delete(f"{URL}/{wid}").status_code == 204
    assert len(_layout(c)) == len(default) - 1
    r = c.post(f"{URL}/reset", {}, format="json")
    assert r.status_code == 200
    assert [w["id"] for w in r.json()] == [w["id"] for w in default]
    assert not Widget.objects.filter(owner=agent_user).exists()


def test_staff_must_name_the_scope_of_a_kind_default(client_for, ops_admin):
    staff = client_for(ops_admin)
    merchant_default = _layout(staff, "merchant:m_9")[0]
    assert merchant_default["scope"] == "merchant:m_9"
    r = staff.get(f"{URL}/{merchant_default['id']}/data")
    assert r.status_code == 400 and "scope" in r.json()["errors"]
    assert (
        staff.get(f"{URL}/{merchant_default['id']}/data", {"scope": "merchant:m_9"}).status_code
        == 200
    )


def test_catalogue_says_what_a_scope_can_show(client_for, merchant_admin_m1):
    types = {t["type"]: t for t in client_for(merchant_admin_m1).get(f"{URL}/types").json()}
    assert len(types) == 7
    assert types["map"]["allowed"] is False and types["chart_line"]["allowed"] is True
    assert "metric" in types["chart_line"]["config_schema"]["properties"]


def test_openapi_documents_each_types_config_and_data(client_for, ops_admin):
    schema = client_for(ops_admin).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    base = "/api/dashboard/widgets"
    assert {
        base,
        *(f"{base}/{p}" for p in ("{id}", "{id}/data", "layout", "reset", "types")),
    } <= set(paths)
    data = paths["/api/dashboard/widgets/{id}/data"]["get"]["responses"]["200"]
    shapes = data["content"]["application/json"]["schema"]["anyOf"]
    assert len(shapes) == 6  # chart_line and chart_bar share one
    body = paths["/api/dashboard/widgets"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    config = schema["components"]["schemas"][ref]["properties"]["config"]["anyOf"]
    assert {c["title"] for c in config} == {f"{t} config" for t in (
        "chart_line", "chart_bar", "gauge", "table", "list", "map", "alert_list")}  # fmt: skip


def test_admin_form_checks_config_and_position():
    from dashboard.widgets.admin import WidgetForm

    good = {
        "scope_kind": "merchant",
        "scope_id": "m_1",
        "type": "gauge",
        "title": "G",
        "x": 0,
        "y": 0,
        "w": 4,
        "h": 3,
        "config": '{"figure": "attempts", "max": 10}',
    }
    form = WidgetForm(data=good)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["config"]["period"] == "24h"  # defaults filled
    bad = WidgetForm(data={**good, "config": '{"figure": "nope"}', "x": 10, "w": 4})
    assert not bad.is_valid()
    assert "config.figure" in str(bad.errors)
