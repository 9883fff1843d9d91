"""The Transactions page and the drill-down links of the overview and metrics pages."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.ingest.services import ingest
from dashboard.snapshots.refresh import snapshots_refresh_dirty
from tests.dashboard.test_snapshots_support import clean_overview_cache  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]


@pytest.fixture
def events(ingest_event):
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [
        ingest_event("payment.succeeded", merchant_id="m_1", event_id=f"w1-{i:02d}",
                     amount=str(1000 + i), occurred_at=(now - timedelta(minutes=i + 1)).isoformat())
        for i in range(60)
    ] + [
        ingest_event("payment.succeeded", merchant_id="m_2", event_id="w2-0",
                     occurred_at=(now - timedelta(minutes=2)).isoformat())
    ]  # fmt: skip
    ingest(batch)
    return batch


def test_page_lists_the_first_page_and_a_sentinel_for_the_next(client, merchant_admin_m1, events):
    client.force_login(merchant_admin_m1)
    html = client.get("/transactions").content.decode()
    ids = re.findall(r'data-event="([^"]+)"', html)
    assert ids == [f"w1-{i:02d}" for i in range(50)]
    more = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, HTTP_HX_REQUEST="true").content.decode()
    assert re.findall(r'data-event="([^"]+)"', rest) == [f"w1-{i:02d}" for i in range(50, 60)]
    assert 'hx-trigger="revealed"' not in rest
    assert "w2-0" not in html + rest


def test_page_refuses_another_scope_and_shows_bad_filters(client, merchant_admin_m1, events):
    client.force_login(merchant_admin_m1)
    assert client.get("/transactions", {"scope": "merchant:m_2"}).status_code == 403
    r = client.get("/transactions", {"currency": "euro", "from": "2026-11-30T10:00"})
    assert r.status_code == 400 and "currency" in r.content.decode()


def test_event_detail_panel_and_another_tenants_event_is_404(client, merchant_admin_m1, events):
    client.force_login(merchant_admin_m1)
    panel = client.get("/transactions/event/w1-03", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and "1003" in panel.content.decode()
    assert "<html" not in panel.content.decode()
    assert client.get("/transactions/event/w1-03").status_code == 200  # a page of its own
    assert client.get("/transactions/event/w2-0").status_code == 404


def test_a_drilldown_link_shows_the_figure_recomputed(client, ops_admin, events):
    client.force_login(ops_admin)
    now = datetime.now(UTC)
    frm = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    to = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    html = client.get(
        "/transactions", {"figure": "gmv", "scope": "merchant:m_1", "from": frm, "to": to}
    ).content.decode()
    total = sum(1000 + i for i in range(60))
    assert f'data-currency="XOF" data-value="{total}"' in html


def test_overview_cards_and_top_lists_link_to_their_transactions(client, ops_admin, events):
    snapshots_refresh_dirty()
    client.force_login(ops_admin)
    html = client.get("/overview", {"period": "24h"}).content.decode()
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/transactions\?[^"]+)"', html)]
    figures = {parse_qs(urlparse(h).query)["figure"][0] for h in links}
    assert {"gmv", "revenue", "fees", "success_rate", "refunds_count"} <= figures
    gmv = parse_qs(urlparse(next(h for h in links if "figure=gmv" in h)).query)
    assert gmv["scope"] == ["platform"] and gmv["from"] and gmv["to"]
    assert any("merchant_id=m_1" in h for h in links)  # the top merchants list
    assert any("country=SN" in h for h in links)  # the top countries list
