"""Snapshot computation and refresh: figures equal the aggregates, FX, locks, dirty claims."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from django.db import connection, connections

from accounts.scope import Scope
from dashboard.models import DirtyScope, FxRate, Snapshot
from dashboard.snapshots.fx import fx_rates_load
from dashboard.snapshots.periods import window
from dashboard.snapshots.refresh import (
    scope_lock_key,
    snapshot_refresh_scope,
    snapshots_refresh_dirty,
)
from tests.dashboard.test_snapshots_support import (
    amounts_as_decimals,
    clean_overview_cache,  # noqa: F401
    expected_totals,
    insert_agg,
    insert_event_rows,
    mark_dirty,
    nonzero,
    wiped_aggregates,  # noqa: F401
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_overview_cache")]

# A fixed "now" (mid-hour) so period edges do not move under the test.
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
HOUR = NOW.replace(minute=0)


@pytest.fixture(autouse=True)
def _clock():
    """NOW and HOUR of this test, not of the module's import: a full run may cross an hour
    boundary between the two, and the code under test reads the wall clock in places."""
    global NOW, HOUR
    NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    HOUR = NOW.replace(minute=0)


def h(n):
    """The bucket n hours before the current one."""
    return HOUR - timedelta(hours=n)


def refresh(scope_text):
    entries = snapshot_refresh_scope(scope=Scope.parse(scope_text), now=NOW)
    return {p: orjson.loads(body) for p, (body, _c, _w) in entries.items()}


def seed_history():
    """Payments spread over 60 days for merchants m_1 and m_2, with bank b_1."""
    spots = [0, 1, 5, 23, 30, 24 * 3, 24 * 6 + 5, 24 * 8, 24 * 20, 24 * 29 + 2, 24 * 35, 24 * 59]
    for i, n in enumerate(spots):
        insert_event_rows(
            h(n), merchant="m_1", bank="b_1", attempts=3 + i, success_count=2 + i,
            failed_count=1, gmv=f"{1000 * (i + 1)}.25", fees=f"{10 * (i + 1)}",
            revenue=f"{7 * (i + 1)}.5", fraud_amount="0" if i % 3 else "100", fraud_count=i % 2,
        )  # fmt: skip
        insert_event_rows(
            h(n), merchant="m_2", country="CI", region="Abidjan", city="Abidjan",
            attempts=1, success_count=1, gmv="500", fees="5", revenue="4",
        )  # fmt: skip


@pytest.mark.parametrize("scope_text", ["platform", "merchant:m_1", "bank:b_1", "region:CI"])
def test_snapshot_figures_equal_aggregates_for_each_period_and_previous(scope_text):
    seed_history()
    payloads = refresh(scope_text)
    scope = Scope.parse(scope_text)
    assert set(payloads) == {"today", "24h", "7d", "30d"}
    for period, payload in payloads.items():
        frm, to, pfrom, pto = window(period, NOW)
        assert payload["from"] == frm.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert payload["scope"] == scope_text and payload["period"] == period
        assert payload["stale"] is False
        counts, amounts = expected_totals(scope.kind, scope.id, frm, to)
        assert payload["counts"] == counts, period
        assert amounts_as_decimals(payload["amounts"]) == nonzero(amounts), period
        pcounts, pamounts = expected_totals(scope.kind, scope.id, pfrom, pto)
        assert payload["previous"]["counts"] == pcounts, period
        assert amounts_as_decimals(payload["previous"]["amounts"]) == nonzero(pamounts)


def test_delta_against_previous_period_and_rates():
    insert_event_rows(h(1), merchant="m_1", attempts=10, success_count=8, failed_count=2,
                      gmv="2000", revenue="30", fraud_amount="20")  # fmt: skip
    insert_event_rows(h(25), merchant="m_1", attempts=5, success_count=4, failed_count=1,
                      gmv="1000", revenue="10")  # fmt: skip
    p = refresh("merchant:m_1")["24h"]
    assert p["rates"] == {"conversion_rate": 0.8, "success_rate": 0.8, "fraud_rate_bps": 100.0}
    assert p["previous"]["rates"]["fraud_rate_bps"] == 0.0
    assert p["change"]["counts"]["attempts"] == 1.0  # 10 vs 5: +100 %
    assert p["change"]["converted"]["gmv"] == 1.0
    assert p["change"]["converted"]["fraud_amount"] is None  # previous 0: no ratio
    assert p["converted"] == {"currency": "XOF", "gmv": "2000", "revenue": "30",
                              "fraud_amount": "20", "missing_rates": []}  # fmt: skip


def test_ratios_with_zero_denominator_are_null():
    insert_event_rows(h(2), merchant="m_9", payouts_count=1, payouts_amount="10")
    p = refresh("merchant:m_9")["24h"]
    assert p["rates"] == {"conversion_rate": None, "success_rate": None, "fraud_rate_bps": None}
    assert p["amounts"]["XOF"]["payouts_amount"] == "10"
    assert p["amounts"]["XOF"]["gmv"] == "0"


def test_conversion_rate_counts_only_payment_successes():
    """events.md: conversion = payment.succeeded (connect) / attempts; transfers do not count."""
    insert_event_rows(h(1), merchant="m_1", attempts=4, success_count=2, gmv="10")
    insert_event_rows(h(1), merchant="m_1", source="wallet", success_count=6, gmv="60")
    p = refresh("merchant:m_1")["24h"]
    assert p["counts"]["success_count"] == 8
    assert p["rates"]["conversion_rate"] == 0.5
    assert p["rates"]["success_rate"] == 1.0


def test_fx_conversion_uses_the_rate_of_each_day_and_flags_missing_rates():
    yesterday = (h(0) - timedelta(days=1)).date()
    fx_rates_load(rows=[("EUR", "XOF", yesterday - timedelta(days=10), "600"),
                        ("EUR", "XOF", h(0).date(), "655.957")])  # fmt: skip
    insert_event_rows(h(0), merchant="m_1", currency="EUR", gmv="10", revenue="1",
                      success_count=1)  # fmt: skip
    insert_event_rows(h(0) - timedelta(days=2), merchant="m_1", currency="EUR", gmv="5",
                      success_count=1)  # fmt: skip
    insert_event_rows(h(0), merchant="m_1", currency="XOF", gmv="1000", fraud_amount="50")
    insert_event_rows(h(0), merchant="m_1", currency="GHS", gmv="7", success_count=1)
    payload = refresh("merchant:m_1")
    p7 = payload["7d"]
    # 10 EUR at today's 655.957 + 5 EUR at the 600 in force two days ago + 1000 XOF.
    assert p7["converted"]["gmv"] == str(Decimal("6559.57") + Decimal("3000") + 1000)
    assert p7["converted"]["revenue"] == "655.957"
    assert p7["converted"]["missing_rates"] == ["GHS"]
    assert p7["rates"]["fraud_rate_bps"] is None  # a missing rate makes the ratio unknown
    assert p7["amounts"]["GHS"]["gmv"] == "7"  # never silently dropped
    assert p7["amounts"]["EUR"]["gmv"] == "15"


def test_missing_rate_before_the_first_rate_date_is_flagged():
    fx_rates_load(rows=[("EUR", "XOF", h(0).date(), "655.957")])
    insert_event_rows(h(0) - timedelta(days=3), merchant="m_1", currency="EUR", gmv="5")
    p = refresh("merchant:m_1")["7d"]
    assert p["converted"]["missing_rates"] == ["EUR"]
    assert p["converted"]["gmv"] == "0"


def test_top_countries_and_merchants_for_platform():
    insert_event_rows(h(1), merchant="m_1", country="SN", gmv="100")
    insert_event_rows(h(1), merchant="m_2", country="CI", gmv="300")
    insert_event_rows(h(30), merchant="m_3", country="ML", gmv="900")  # 30h ago: 7d only
    # The platform's top lists read the region and merchant rollups, which a
    # refresh run rewrites before the platform (last in the run).
    snapshots_refresh_dirty(now=NOW)
    payload = {
        s.period: orjson.loads(s.body) for s in Snapshot.objects.filter(scope_kind="platform")
    }
    p24 = payload["24h"]
    assert [c["country"] for c in p24["top_countries"]] == ["CI", "SN"]
    assert p24["top_countries"][0] == {"country": "CI", "gmv": "300", "currency": "XOF",
                                       "missing_rates": []}  # fmt: skip
    assert [m["merchant_id"] for m in p24["top_merchants"]] == ["m_2", "m_1"]
    assert [m["merchant_id"] for m in payload["7d"]["top_merchants"]] == ["m_3", "m_2", "m_1"]
    merchant = refresh("merchant:m_2")["24h"]
    assert merchant["top_countries"][0]["country"] == "CI"
    assert merchant["top_merchants"] == []


def test_sparkline_is_hourly_and_zero_filled():
    insert_event_rows(h(2), merchant="m_1", gmv="42")
    p = refresh("merchant:m_1")["24h"]
    points = p["sparkline"]["points"]
    assert len(points) == 24
    assert points[-1]["t"] == HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert points[-3]["value"] == "42"
    assert sum(Decimal(x["value"]) for x in points) == 42


def test_float_comes_from_the_agents_of_the_scope():
    from agents.services import FloatColumns, agent_floats_apply

    agent_floats_apply(FloatColumns.of([
        {"agent_id": "a_1", "balance": Decimal("250000.5"), "currency": "XOF",
         "occurred_at": NOW - timedelta(minutes=5), "country": "SN", "region": "Dakar",
         "city": "Dakar", "lat": None, "lon": None, "event_id": "e1"},
    ]))  # fmt: skip
    assert refresh("platform")["24h"]["float"] == {"XOF": "250000.5"}
    assert refresh("agent:a_1")["24h"]["float"] == {"XOF": "250000.5"}
    assert refresh("merchant:m_1")["24h"]["float"] == {}


def test_dirty_refresh_claims_marks_rewrites_rollups_and_is_idempotent():
    insert_event_rows(h(1), merchant="m_1", gmv="100", success_count=1)
    marked = NOW - timedelta(seconds=20)
    mark_dirty("merchant", "m_1", h(1), h(1), marked)
    mark_dirty("platform", "", h(1), h(1), marked)
    stats = snapshots_refresh_dirty(now=NOW)
    assert stats["refreshed"] == 3 and stats["failed"] == 0  # platform, merchant, region
    assert not DirtyScope.objects.exists()
    snap = Snapshot.objects.get(scope_kind="merchant", scope_id="m_1", period="24h")
    body = orjson.loads(snap.body)
    assert body["amounts"]["XOF"]["gmv"] == "100"
    # as_of is an event time, never the ingestion mark's (tests/dashboard/test_as_of.py);
    # rows inserted without last_event_at count as the end of their hour.
    assert body["as_of"] == HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sum(gmv) FROM dashboard_scope_hourly WHERE scope_kind = 'merchant' "
            "AND scope_id = 'm_1'"
        )
        assert cur.fetchone()[0] == Decimal("100")
    # Idempotent: running again with nothing dirty changes no figure.
    snapshots_refresh_dirty(now=NOW)
    again = orjson.loads(
        Snapshot.objects.get(scope_kind="merchant", scope_id="m_1", period="24h").body
    )
    assert {k: v for k, v in again.items() if k != "computed_at"} == {
        k: v for k, v in body.items() if k != "computed_at"
    }


def test_snapshots_whose_hour_window_ended_are_recomputed():
    refresh("merchant:m_1")
    later = NOW + timedelta(hours=1)
    stats = snapshots_refresh_dirty(now=later)
    assert stats["refreshed"] == 1
    snap = Snapshot.objects.get(scope_kind="merchant", scope_id="m_1", period="24h")
    assert snap.window_to > later


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("wiped_aggregates")
def test_a_scope_locked_by_another_worker_is_skipped_and_stays_dirty():
    insert_event_rows(h(1), merchant="m_1", gmv="100")
    mark_dirty("merchant", "m_1", h(1), h(1))
    scope = Scope.parse("merchant:m_1")
    held, release = threading.Event(), threading.Event()

    def other_worker():
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", [scope_lock_key(scope)])
                held.set()
                release.wait(10)
                cur.execute("SELECT pg_advisory_unlock(%s)", [scope_lock_key(scope)])
        finally:
            conn.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        assert snapshot_refresh_scope(scope=scope, now=NOW) is None
        assert DirtyScope.objects.filter(scope_kind="merchant", scope_id="m_1").exists()
        assert not Snapshot.objects.filter(scope_id="m_1").exists()
    finally:
        release.set()
        thread.join()
    assert snapshot_refresh_scope(scope=scope, now=NOW) is not None
    assert not DirtyScope.objects.filter(scope_kind="merchant").exists()


def test_fx_rates_load_rejects_bad_rows_all_or_none():
    from common.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        fx_rates_load(rows=[("EUR", "XOF", "2026-11-01", "655.957"),
                            ("usd", "XOF", "2026-13-01", "-1")])  # fmt: skip
    assert set(exc.value.errors) == {"rate_date", "rate"}
    assert not FxRate.objects.exists()
    assert fx_rates_load(rows=[("EUR", "XOF", date(2026, 11, 1), "655.957")]) == 1


def test_load_fx_rates_command_reads_csv(tmp_path):
    from django.core.management import call_command

    path = tmp_path / "rates.csv"
    path.write_text("currency,quote_currency,rate_date,rate\nEUR,XOF,2026-11-01,655.957\n"
                    "USD,,2026-11-01,605.5\n")  # fmt: skip
    call_command("load_fx_rates", str(path))
    assert FxRate.objects.get(currency="USD").quote_currency == "XOF"
    assert FxRate.objects.get(currency="EUR").rate == Decimal("655.957")


def test_region_rows_only_from_platform_rows_of_the_country():
    insert_agg("platform", "", h(1), country="CI", gmv="5")
    insert_agg("merchant", "m_1", h(1), country="CI", gmv="999")
    assert refresh("region:CI")["24h"]["amounts"]["XOF"]["gmv"] == "5"


def test_full_refresh_does_the_platform_and_hands_out_the_rest_in_chunks(monkeypatch):
    from dashboard.snapshots import refresh as refresh_module

    for i in range(5):
        insert_event_rows(h(1), merchant=f"m_{i}", gmv="1")
    snapshots_refresh_dirty(now=NOW)  # ingestion's marks -> rollups (the activity list)
    Snapshot.objects.all().delete()
    monkeypatch.setattr(refresh_module, "FULL_REFRESH_CHUNK", 2)
    chunks = []
    stats = refresh_module.snapshots_refresh_all(now=NOW, dispatch=chunks.append)
    assert stats["refreshed"] == 1  # the platform, inline
    assert Snapshot.objects.filter(scope_kind="platform").count() == 4
    assert [len(c) for c in chunks] == [2, 2, 2]  # 5 merchants + region:SN, platform excluded
    assert ("platform", "") not in {p for c in chunks for p in c}
    done = refresh_module.snapshots_refresh_batch(pairs=chunks[0])
    assert done["refreshed"] == 2 and done["failed"] == 0


def test_dirty_scopes_come_before_ended_windows():
    refresh("merchant:m_old")  # a snapshot whose window will have ended
    insert_event_rows(h(0) + timedelta(hours=1), merchant="m_new", gmv="5")
    later = NOW + timedelta(hours=1)
    order = []
    real = snapshot_refresh_scope

    def spy(*, scope, now=None, wait=False):
        order.append(str(scope))
        return real(scope=scope, now=now, wait=wait)

    import dashboard.snapshots.refresh as refresh_module

    original = refresh_module.snapshot_refresh_scope
    refresh_module.snapshot_refresh_scope = spy
    try:
        snapshots_refresh_dirty(now=later)
    finally:
        refresh_module.snapshot_refresh_scope = original
    assert order.index("merchant:m_new") < order.index("platform") < order.index("merchant:m_old")


def test_a_refresh_that_fails_leaves_its_changes_and_the_rollup_as_they_were(monkeypatch):
    """Claim, rollup rewrite and snapshot write are one transaction: a failure in the
    computation rolls the claim back, so the next run still sees the change."""
    from dashboard.snapshots import refresh as refresh_module

    insert_event_rows(h(1), merchant="m_1", gmv="100")

    def broken(*args, **kwargs):
        raise RuntimeError("compute failed")

    monkeypatch.setattr(refresh_module, "compute_scope", broken)
    with pytest.raises(RuntimeError):
        snapshot_refresh_scope(scope=Scope.parse("merchant:m_1"), now=NOW)
    mark = DirtyScope.objects.get(scope_kind="merchant", scope_id="m_1")
    assert (mark.min_bucket, mark.max_bucket) == (h(1), h(1))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_scope_hourly WHERE scope_id = 'm_1'")
        assert cur.fetchone()[0] == 0
    assert not Snapshot.objects.filter(scope_id="m_1").exists()
    monkeypatch.undo()
    assert refresh("merchant:m_1")["24h"]["amounts"]["XOF"]["gmv"] == "100"
    assert not DirtyScope.objects.filter(scope_kind="merchant").exists()
