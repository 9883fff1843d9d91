"""Changes that alter figures already shown mark them stale at once (FX rates).

New rates are committed with a pending change for every scope whose converted
figures use them, in the same transaction; from the commit until that scope's
next refresh its overview says `stale: true`, and the refresh then gives the
converted figures and `missing_rates` of the new rates.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from common.redis_mirror import mirror
from dashboard.models import DirtyChange, DirtyScope, FxRate
from dashboard.snapshots import cache, fx, overview
from dashboard.snapshots.fx import fx_rates_delete, fx_rates_load
from dashboard.snapshots.refresh import snapshots_refresh_dirty
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    insert_event_rows,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]
URL = "/api/dashboard/overview"


@pytest.fixture
def queued(monkeypatch):
    """The full refresh queued after the commit (recorded, not sent to a broker)."""
    calls = []
    monkeypatch.setattr(fx, "_queue_full_refresh", lambda: calls.append(1))
    return calls


def _get(client, scope, period="7d"):
    response = client.get(URL, {"scope": scope, "period": period})
    assert response.status_code == 200
    return orjson.loads(response.content)


def _seed():
    """m_eur sells in EUR two days ago (no rate yet), m_xof only in XOF."""
    insert_event_rows(hours_ago(48), merchant="m_eur", currency="EUR", gmv="10", success_count=1)
    insert_event_rows(hours_ago(3), merchant="m_eur", currency="XOF", gmv="1000")
    insert_event_rows(hours_ago(3), merchant="m_xof", currency="XOF", gmv="500")
    snapshots_refresh_dirty()
    cache.set_tick(datetime.now(UTC))  # a clean run: every snapshot known current


def test_new_rates_make_the_overview_stale_at_once_and_the_refresh_fixes_the_figures(
    client_for, ops_admin, queued, django_capture_on_commit_callbacks
):
    _seed()
    client = client_for(ops_admin)
    before = _get(client, "merchant:m_eur")
    assert before["stale"] is False
    assert before["converted"]["missing_rates"] == ["EUR"]
    assert before["converted"]["gmv"] == "1000"
    assert _get(client, "platform")["stale"] is False

    day = (hours_ago(48) - timedelta(days=1)).date()
    with django_capture_on_commit_callbacks(execute=True):
        fx_rates_load(rows=[("EUR", "XOF", day, "655.957")])
    # Marked in the load's transaction: the scopes with EUR figures (and the
    # platform and region, whose figures hold them), not the XOF-only merchant.
    marked = set(
        DirtyChange.objects.filter(reason="fx_rates").values_list("scope_kind", "scope_id")
    )
    assert marked == {("merchant", "m_eur"), ("platform", ""), ("region", "SN")}
    assert queued == [1]
    # Immediately stale, every period; the unaffected merchant stays fresh.
    for period in ("today", "24h", "7d", "30d"):
        assert _get(client, "merchant:m_eur", period)["stale"] is True, period
    assert _get(client, "platform")["stale"] is True
    assert _get(client, "merchant:m_xof")["stale"] is False

    snapshots_refresh_dirty()
    mirror.clear()
    after = _get(client, "merchant:m_eur")
    assert after["stale"] is False
    assert after["converted"]["missing_rates"] == []
    assert Decimal(after["converted"]["gmv"]) == Decimal("6559.57") + 1000
    assert after["amounts"]["EUR"]["gmv"] == "10"
    platform = _get(client, "platform")
    assert platform["stale"] is False
    assert platform["top_merchants"][0] == {
        "merchant_id": "m_eur", "gmv": "7559.57", "currency": "XOF", "missing_rates": [],
    }  # fmt: skip
    assert not DirtyScope.objects.exists()


def test_without_redis_the_table_row_is_served_stale_until_the_refresh(
    client_for, ops_admin, queued, django_capture_on_commit_callbacks
):
    _seed()
    client = client_for(ops_admin)
    with django_capture_on_commit_callbacks(execute=True):
        fx_rates_load(rows=[("EUR", "XOF", hours_ago(72).date(), "655.957")])
    # Redis lost both the bytes and the marks: the table row is served, flagged stale
    # (a read cannot tell what it misses), and nothing is written back.
    redis = cache.client()
    redis.delete(cache.overview_key("merchant:m_eur", "7d"), cache.dirty_key("merchant:m_eur"))
    mirror.clear()
    assert _get(client, "merchant:m_eur")["stale"] is True
    mirror.clear()
    assert _get(client, "merchant:m_eur")["stale"] is True
    assert cache.fetch("merchant:m_eur", "7d")[0] is None
    snapshots_refresh_dirty()
    mirror.clear()
    assert _get(client, "merchant:m_eur")["stale"] is False


def test_a_refresh_that_claimed_before_the_rates_committed_stays_stale():
    now = datetime.now(UTC)
    claimed = now - timedelta(seconds=3)
    window_to = now + timedelta(minutes=30)
    # Covered before the change: stale whatever its age or the tick says.
    assert cache.is_stale(
        now.timestamp(), window_to.timestamp(), now.timestamp(),
        covered_at=claimed.timestamp(), dirty_since=(claimed + timedelta(seconds=1)).timestamp(),
    )  # fmt: skip
    assert not cache.is_stale(
        now.timestamp(), window_to.timestamp(), now.timestamp(),
        covered_at=claimed.timestamp(), dirty_since=(claimed - timedelta(seconds=1)).timestamp(),
    )  # fmt: skip


def test_rates_that_change_no_shown_figure_mark_nothing(queued, django_capture_on_commit_callbacks):
    _seed()
    today = datetime.now(UTC).date()
    with django_capture_on_commit_callbacks(execute=True):
        fx_rates_load(rows=[("EUR", "XOF", today + timedelta(days=1), "700")])  # not yet
        fx_rates_load(rows=[("EUR", "XOF", today - timedelta(days=400), "500"),  # superseded
                            ("EUR", "XOF", today - timedelta(days=100), "600")])  # fmt: skip
        fx_rates_load(rows=[("EUR", "USD", today - timedelta(days=3), "1.1")])  # other quote
    # The rate of 100 days ago is in force over the whole look-back: that one counts.
    marked = set(DirtyChange.objects.values_list("scope_kind", "scope_id"))
    assert ("merchant", "m_eur") in marked
    DirtyChange.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        fx_rates_load(rows=[("EUR", "XOF", today - timedelta(days=100), "600")])  # unchanged
        fx_rates_load(rows=[("EUR", "XOF", today - timedelta(days=400), "510")])  # superseded
    assert not DirtyChange.objects.exists()


def test_deleting_a_rate_marks_what_it_changed(queued, django_capture_on_commit_callbacks):
    _seed()
    day = (hours_ago(48) - timedelta(days=1)).date()
    fx_rates_load(rows=[("EUR", "XOF", day, "655.957")])
    snapshots_refresh_dirty()
    assert not DirtyChange.objects.exists()
    rate = FxRate.objects.get(currency="EUR", rate_date=day)
    with django_capture_on_commit_callbacks(execute=True):
        assert fx_rates_delete(rate_ids=[rate.pk]) == 1
    assert ("merchant", "m_eur") in set(DirtyChange.objects.values_list("scope_kind", "scope_id"))
    snapshots_refresh_dirty()
    mirror.clear()
    from accounts.scope import Scope
    from dashboard.snapshots.overview import overview_body

    body = orjson.loads(overview_body(Scope.parse("merchant:m_eur"), "7d"))
    assert body["stale"] is False and body["converted"]["missing_rates"] == ["EUR"]


def test_dead_letter_reprocessing_marks_the_scopes_it_counts_in(admin_client, ingest_event):
    """A re-processed letter is counted through the batch path, whose transaction also
    inserts its scopes' change rows: the next refresh shows it."""
    import orjson as _orjson
    from django.urls import reverse

    from accounts.scope import Scope
    from dashboard.ingest.services import ingest
    from dashboard.models import DeadLetter
    from dashboard.snapshots.refresh import snapshot_refresh_scope

    soon = datetime.now(UTC) + timedelta(minutes=6)
    event = ingest_event(merchant_id="m_dl", occurred_at=soon.isoformat(), amount="77")
    ingest([event])  # future_timestamp: a dead letter, nothing marked
    assert not DirtyChange.objects.filter(scope_id="m_dl").exists()
    snapshot_refresh_scope(scope=Scope.parse("merchant:m_dl"))
    fixed = dict(event, occurred_at=(soon - timedelta(minutes=10)).isoformat())
    DeadLetter.objects.update(payload=_orjson.dumps(fixed))
    admin_client.post(
        reverse("admin:dashboard_deadletter_changelist"),
        {"action": "reprocess_selected",
         "_selected_action": [str(i) for i in DeadLetter.objects.values_list("id", flat=True)]},
    )  # fmt: skip
    hour = datetime.fromisoformat(fixed["occurred_at"]).replace(minute=0, second=0, microsecond=0)
    change = DirtyChange.objects.get(scope_kind="merchant", scope_id="m_dl")
    assert change.reason == "events" and change.min_bucket == hour == change.max_bucket
    snapshots_refresh_dirty()
    body = orjson.loads(overview.overview_body(Scope.parse("merchant:m_dl"), "24h"))
    assert body["amounts"]["XOF"]["gmv"] == "77"
