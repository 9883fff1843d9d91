"""Admin: alerts acknowledged and resolved through the services; the delivery log read-only."""

import pytest
from django.test import Client

from alerts import services
from alerts.models import AlertEvent

pytestmark = pytest.mark.django_db


def test_admin_actions_acknowledge_and_resolve_through_services(ops_admin):
    ops_admin.is_staff = True
    ops_admin.save(update_fields=["is_staff"])
    alert = services.alert_raise(
        source="manual",
        category="system",
        severity="info",
        scope="platform",
        title="check",
        dedupe_key="admin-test",
    )
    client = Client()
    client.force_login(ops_admin)
    url = "/admin/alerts/alert/"
    assert client.get(url).status_code == 200
    assert client.get(f"{url}{alert.pk}/change/").status_code == 200
    for verb in ("acknowledge", "resolve"):
        client.post(url, {"action": f"{verb}_selected", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by == ops_admin
    assert list(AlertEvent.objects.values_list("kind", flat=True)) == [
        "opened",
        "acknowledged",
        "resolved",
    ]
    for page in ("alertrule", "silence", "contactpoint", "notificationdelivery"):
        assert client.get(f"/admin/alerts/{page}/").status_code == 200
    assert client.get("/admin/alerts/notificationdelivery/add/").status_code == 403
