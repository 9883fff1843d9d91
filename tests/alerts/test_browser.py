"""The alert detail in real Chromium: the chart draws under the strict CSP, no console
error, no serious accessibility violation; acknowledging from the page works."""

from datetime import timedelta

import pytest

from alerts.evaluation import evaluate_rule
from alerts.models import Alert, AlertRule
from tests.alerts.helpers import hour, merchant_traffic
from tests.browser import (
    RECORD_CSP_VIOLATIONS,
    assert_strict_csp,
    csp_violations,
    screenshot,
    serious_axe_violations,
    sign_in,
    watch,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alert_detail_chart_and_acknowledge_in_chromium(live_server, browser, merchant_admin_m1):
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    rule.for_duration = timedelta(0)
    rule.save()
    for n, fraud in ((3, 50), (2, 120), (1, 250)):
        merchant_traffic("m_1", hour(n), gmv=10000, fraud_amount=fraud)
    evaluate_rule(rule, now=hour(0) + timedelta(minutes=1))
    alert = Alert.objects.get()

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server.url, merchant_admin_m1, next_url="/alerts")
    response = page.goto(f"{live_server.url}/alerts/{alert.pk}")
    assert_strict_csp(response.headers.get("content-security-policy"), "alert detail")
    page.wait_for_selector("#alert-chart canvas")
    assert serious_axe_violations(page) == []
    screenshot(page, "alert_detail")
    page.fill("#ack-comment", "looking into it")
    page.click("form[action$='/acknowledge'] button")
    page.wait_for_load_state("networkidle")
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == merchant_admin_m1
    page.goto(f"{live_server.url}/alerts")
    page.wait_for_selector(f"tr[data-alert-id='{alert.pk}']")
    assert csp_violations(page) == []
    context.close()
    assert problems == [], problems
