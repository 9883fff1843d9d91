"""The SIRA pages and the ops console panel."""

import pytest
from django.test import Client

from opsactions.models import OpsAction
from sira.choices import RecStatus

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_feed_shows_recommendations_with_their_explanation(ops_admin, make_rec):
    rec = make_rec()
    page = _client(ops_admin).get("/sira")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Chargebacks tripled in 48 h" in html and 'value="0.4200"' in html
    assert f"/sira/{rec.pk}" in html and 'id="sira-models"' in html
    assert 'style="' not in html
    assert _client(ops_admin).get("/sira?status=bogus").status_code == 400


@pytest.mark.parametrize("who", ["merchant_admin_m1", "agent_user"])
def test_tenants_get_the_403_page(request, who):
    assert _client(request.getfixturevalue(who)).get("/sira").status_code == 403


def test_region_staff_see_their_country_only(region_sn, make_rec):
    other = make_rec()
    mine = make_rec(
        type="route_payout",
        target="region:SN",
        action={"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_2"}},
    )
    client = _client(region_sn)
    html = client.get("/sira").content.decode()
    assert f"/sira/{mine.pk}" in html and f'/sira/{other.pk}"' not in html
    assert client.get(f"/sira/{other.pk}").status_code == 404
    assert client.get(f"/sira/{mine.pk}").status_code == 200


def test_detail_apply_then_panel_in_the_ops_console(ops_admin, approver_b, make_rec):
    rec = make_rec()
    client = _client(ops_admin)
    detail = client.get(f"/sira/{rec.pk}")
    assert detail.status_code == 200 and 'id="btn-apply"' in detail.content.decode()
    assert 'id="backtest"' in detail.content.decode()
    done = client.post(f"/sira/{rec.pk}/apply")
    action = OpsAction.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/ops/{action.pk}"
    assert action.status == "pending_approval" and action.requested_by == ops_admin
    panel = _client(approver_b).get(f"/ops/{action.pk}").content.decode()
    assert 'id="sira-panel"' in panel and "Chargebacks tripled in 48 h" in panel
    # Applying twice is refused with the reason shown.
    again = client.post(f"/sira/{rec.pk}/apply")
    assert again.status_code == 409 and 'id="sira-error"' in again.content.decode()


def test_reject_from_the_page(ops_admin, finance_ops, make_rec):
    rec = make_rec()
    assert _client(finance_ops).post(f"/sira/{rec.pk}/reject", {"reason": "x"}).status_code == 403
    assert _client(ops_admin).post(f"/sira/{rec.pk}/reject", {"reason": ""}).status_code == 400
    assert _client(ops_admin).post(f"/sira/{rec.pk}/reject", {"reason": "noise"}).status_code == 302
    rec.refresh_from_db()
    assert rec.status == RecStatus.REJECTED


def test_demo_recommendations_are_valid_and_seeded_once(db):
    from sira.demo import seed_demo_recommendations

    assert seed_demo_recommendations() == 3
    assert seed_demo_recommendations() == 0
