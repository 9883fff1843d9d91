"""The alerts pages: panel (own alerts only, live partial), detail with chart, acknowledge
and resolve, 403 for an account without a scope."""

from datetime import timedelta

import pytest
from django.test import Client

from alerts import services
from alerts.evaluation import evaluate_rule
from alerts.models import Alert, AlertRule
from tests.alerts.helpers import hour, merchant_traffic

pytestmark = pytest.mark.django_db


def browser(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def two_alerts():
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    rule.for_duration = timedelta(0)
    rule.save()
    merchant_traffic("m_1", hour(1), gmv=10000, fraud_amount=150)
    merchant_traffic("m_1", hour(0), gmv=10000, fraud_amount=200)
    merchant_traffic("m_2", hour(0), gmv=10000, fraud_amount=300)
    evaluate_rule(rule, now=hour(0) + timedelta(minutes=5))
    return Alert.objects.get(merchant_id="m_1"), Alert.objects.get(merchant_id="m_2")


def test_panel_and_live_table_show_only_own_alerts(merchant_admin_m1, ops_admin, two_alerts):
    page = browser(merchant_admin_m1).get("/alerts").content.decode()
    assert "merchant:m_1" in page and "merchant:m_2" not in page
    live = browser(merchant_admin_m1).get("/alerts/live?severity=critical").content.decode()
    assert "merchant:m_1" in live and "<html" not in live
    staff = browser(ops_admin).get("/alerts").content.decode()
    assert "merchant:m_1" in staff and "merchant:m_2" in staff
    assert browser(merchant_admin_m1).get("/alerts?scope=merchant:m_2").status_code == 403


def test_detail_with_chart_and_other_tenant_404(merchant_admin_m1, two_alerts):
    a1, a2 = two_alerts
    c = browser(merchant_admin_m1)
    page = c.get(f"/alerts/{a1.pk}").content.decode()
    assert "data-chart=" in page and "fraud_rate_bps" in page and "Acknowledge" in page
    assert c.get(f"/alerts/{a2.pk}").status_code == 404
    assert c.post(f"/alerts/{a2.pk}/acknowledge").status_code == 404


def test_acknowledge_and_resolve_from_the_page(merchant_admin_m1, two_alerts):
    a1 = two_alerts[0]
    c = browser(merchant_admin_m1)
    c.post(f"/alerts/{a1.pk}/acknowledge", {"comment": "seen"})
    c.post(f"/alerts/{a1.pk}/resolve", {"comment": "done"})
    a1.refresh_from_db()
    assert (a1.status, a1.acknowledged_by, a1.resolved_by) == (
        "resolved",
        merchant_admin_m1,
        merchant_admin_m1,
    )


def test_account_without_scope_gets_403(outsider):
    services.alert_raise(
        source="manual",
        category="system",
        severity="info",
        scope="platform",
        title="x",
        dedupe_key="x",
    )
    assert browser(outsider).get("/alerts").status_code == 403
