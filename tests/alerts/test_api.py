"""The alerts API of the contract: list, filters, tenant rules, detail, acknowledge,
resolve, manual create, summary, rules, silences, contact points, preview."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.scope import Scope
from alerts import services
from alerts.models import AlertRule
from dashboard.widgets.registry import widget_provider
from tests.alerts.helpers import hour, merchant_traffic

pytestmark = pytest.mark.django_db


def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def raise_for(scope, *, severity="critical", category="fraud", key=None):
    return services.alert_raise(
        source="sira",
        category=category,
        severity=severity,
        scope=scope,
        title=f"alert on {scope}",
        dedupe_key=key or scope,
        labels={"country": "SN"},
    )


@pytest.fixture
def alerts3():
    return (
        raise_for("merchant:m_1"),
        raise_for("merchant:m_2"),
        raise_for("bank:b_1", severity="warning", category="payout"),
    )


def test_list_item_has_the_contract_fields(ops_admin, alerts3):
    body = client_for(ops_admin).get("/api/dashboard/alerts").json()
    assert body["count"] == 3
    item = next(i for i in body["results"] if i["scope"] == "merchant:m_1")
    for field in (
        "id fingerprint rule source severity category scope labels title message value "
        "threshold status first_seen last_seen occurrences acknowledged_by "
        "acknowledged_at resolved_at resolved_by"
    ).split():
        assert field in item
    assert item["labels"] == {"country": "SN"} and item["status"] == "open"


def test_tenant_sees_only_its_alerts_and_another_tenants_is_404(merchant_admin_m1, alerts3):
    a1, a2, _ = alerts3
    c = client_for(merchant_admin_m1)
    body = c.get("/api/dashboard/alerts").json()
    assert [i["scope"] for i in body["results"]] == ["merchant:m_1"]
    assert c.get(f"/api/dashboard/alerts/{a2.pk}").status_code == 404
    for verb in ("acknowledge", "resolve"):
        answer = c.post(f"/api/dashboard/alerts/{a2.pk}/{verb}", {}, format="json")
        assert answer.status_code == 404
    assert c.get("/api/dashboard/alerts?scope=merchant:m_2").status_code == 403
    assert c.get("/api/dashboard/alerts/summary").json()["total"] == 1


def test_filters_and_bad_values(ops_admin, alerts3):
    c = client_for(ops_admin)
    assert c.get("/api/dashboard/alerts?severity=warning").json()["count"] == 1
    assert c.get("/api/dashboard/alerts?scope=merchant:m_2").json()["count"] == 1
    assert c.get("/api/dashboard/alerts?category=payout&status=open").json()["count"] == 1
    bad = c.get("/api/dashboard/alerts?severity=urgent")
    assert bad.status_code == 400 and "severity" in bad.json()["errors"]
    assert c.get("/api/dashboard/alerts?scope=moon").status_code == 400
    assert c.get("/api/dashboard/alerts?limit=abc").status_code == 400


def test_acknowledge_then_resolve_with_history(merchant_admin_m1, alerts3):
    a1 = alerts3[0]
    c = client_for(merchant_admin_m1)
    r = c.post(f"/api/dashboard/alerts/{a1.pk}/acknowledge", {"comment": "on it"}, format="json")
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "merchant_admin_m1"
    again = c.post(f"/api/dashboard/alerts/{a1.pk}/acknowledge", {}, format="json")
    assert again.status_code == 409
    r = c.post(f"/api/dashboard/alerts/{a1.pk}/resolve", {"comment": "done"}, format="json")
    body = r.json()
    assert body["status"] == "resolved" and body["resolved_by"] == "merchant_admin_m1"
    assert [e["kind"] for e in body["events"]] == ["opened", "acknowledged", "resolved"]


def test_manual_create_is_staff_only(ops_admin, merchant_admin_m1):
    payload = {"category": "system", "severity": "info", "scope": "platform", "title": "Test"}
    assert (
        client_for(merchant_admin_m1)
        .post("/api/dashboard/alerts", payload, format="json")
        .status_code
        == 403
    )
    r = client_for(ops_admin).post("/api/dashboard/alerts", payload, format="json")
    assert r.status_code == 201 and r.json()["source"] == "manual"
    bad = client_for(ops_admin).post(
        "/api/dashboard/alerts", {**payload, "severity": "x"}, format="json"
    )
    assert bad.status_code == 400 and "severity" in bad.json()["errors"]


def test_summary_counts_live_alerts(ops_admin, alerts3):
    body = client_for(ops_admin).get("/api/dashboard/alerts/summary").json()
    assert body["by_severity"] == {"info": 0, "warning": 1, "critical": 2}
    assert body["by_category"]["fraud"] == 2 and body["total"] == 3


def test_rules_crud_with_iso_durations(ops_admin, merchant_admin_m1):
    c = client_for(ops_admin)
    rule = {
        "key": "gmv.min",
        "name": "GMV low",
        "metric": "gmv",
        "scope": "each:merchant",
        "comparator": "lt",
        "threshold": "100",
        "window": "PT2H",
        "for": "PT10M",
        "severity": "warning",
        "category": "payout",
    }
    assert (
        client_for(merchant_admin_m1)
        .post("/api/dashboard/alerts/rules", rule, format="json")
        .status_code
        == 403
    )
    r = c.post("/api/dashboard/alerts/rules", rule, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["window"], body["for"], body["threshold"]) == ("PT2H", "PT10M", "100")
    assert AlertRule.objects.get(key="gmv.min").for_duration == timedelta(minutes=10)
    dup = c.post("/api/dashboard/alerts/rules", rule, format="json")
    assert dup.status_code == 400 and "key" in dup.json()["errors"]
    bad = c.post(
        "/api/dashboard/alerts/rules",
        {**rule, "key": "x", "window": "2 hours", "metric": "nope"},
        format="json",
    )
    assert bad.status_code == 400 and {"window", "metric"} <= set(bad.json()["errors"])
    r = c.patch(f"/api/dashboard/alerts/rules/{body['id']}", {"enabled": False}, format="json")
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert c.delete(f"/api/dashboard/alerts/rules/{body['id']}").status_code == 204


def test_rule_preview_lists_breaching_series_and_backtest(ops_admin):
    # Whole past hours: the answer does not depend on the minute the test runs at.
    merchant_traffic("m_1", hour(1), gmv=10000, fraud_amount=200)
    merchant_traffic("m_1", hour(3), gmv=10000, fraud_amount=300)
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    r = client_for(ops_admin).post(
        f"/api/dashboard/alerts/rules/{rule.pk}/preview", {}, format="json"
    )
    assert r.status_code == 200
    body = r.json()
    assert [(i["scope"], i["value"]) for i in body["now"]] == [("merchant:m_1", "200")]
    assert [i["peak"] for i in body["backtest"]] == ["300", "200"]
    r = client_for(ops_admin).post(
        f"/api/dashboard/alerts/rules/{rule.pk}/preview", {"threshold": "250"}, format="json"
    )
    assert r.json()["now"] == [] and len(r.json()["backtest"]) == 1
    r = client_for(ops_admin).post(
        f"/api/dashboard/alerts/rules/{rule.pk}/preview", {"scope": "bank:b_1"}, format="json"
    )
    assert r.status_code == 400 and "scope" in r.json()["errors"]


def test_silences_and_contact_points_are_tenant_owned(
    ops_admin, merchant_admin_m1, merchant_admin_m2
):
    m1, m2 = client_for(merchant_admin_m1), client_for(merchant_admin_m2)
    now = hour(0)
    silence = {
        "scope": "merchant:m_1",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "comment": "maintenance",
    }
    assert m2.post("/api/dashboard/alerts/silences", silence, format="json").status_code == 403
    r = m1.post("/api/dashboard/alerts/silences", silence, format="json")
    assert r.status_code == 201 and r.json()["owner_scope"] == "merchant:m_1"
    sid = r.json()["id"]
    assert m2.get(f"/api/dashboard/alerts/silences/{sid}").status_code == 404
    assert m2.delete(f"/api/dashboard/alerts/silences/{sid}").status_code == 404
    assert client_for(ops_admin).get("/api/dashboard/alerts/silences").json()["count"] == 1
    cp = {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s" * 20}
    r = m1.post("/api/dashboard/alerts/contact-points", cp, format="json")
    assert r.status_code == 201 and "secret" not in r.json() and r.json()["has_secret"]
    cid = r.json()["id"]
    assert m2.get(f"/api/dashboard/alerts/contact-points/{cid}").status_code == 404
    assert (
        m2.patch(
            f"/api/dashboard/alerts/contact-points/{cid}", {"enabled": False}, format="json"
        ).status_code
        == 404
    )
    assert m2.post(f"/api/dashboard/alerts/contact-points/{cid}/test").status_code == 404
    bad = m1.post("/api/dashboard/alerts/contact-points", {**cp, "url": "ftp://x"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()["errors"]


def test_alert_list_widget_provider_mirrors_the_list(merchant_admin_m1, ops_admin, alerts3):
    provider = widget_provider("alert_list")
    data = provider(
        user=merchant_admin_m1, scope=Scope.parse("merchant:m_1"), config={"limit": 10}, now=None
    )
    assert data["total"] == 1 and data["items"][0]["scope"] == "merchant:m_1"
    data = provider(
        user=ops_admin,
        scope=Scope.platform(),
        config={"severity": ["warning"], "limit": 1},
        now=None,
    )
    assert data["total"] == 1 and data["items"][0]["category"] == "payout"
    api_item = client_for(ops_admin).get("/api/dashboard/alerts?scope=bank:b_1").json()
    assert api_item["results"][0] == data["items"][0]
