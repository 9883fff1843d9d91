"""Helpers of the snapshot, overview and time-series tests (no tests here).

The aggregates are written directly (what ingestion would have produced), so
these tests do not depend on the ingestion pipeline; the expected figures are
computed independently, in Python, from the rows inserted.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from common import dbroles
from common.redis_mirror import mirror
from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.snapshots import cache

FIGURES = COUNT_FIGURES + MONEY_FIGURES


def now_hour():
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def insert_agg(
    scope_kind,
    scope_id,
    bucket,
    *,
    country="SN",
    region="Dakar",
    city="Dakar",
    currency="XOF",
    source="connect",
    **figures,
):
    """Add one aggregate row (summing into an existing one) and mark the scopes dirty,
    as ingestion's upsert does in its transaction (platform rows also mark region:CC)."""
    unknown = set(figures) - set(FIGURES)
    assert figures and not unknown, unknown
    cols = list(figures)
    values = [Decimal(str(v)) if k in MONEY_FIGURES else int(v) for k, v in figures.items()]
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO dashboard_hourly_aggregate (scope_kind, scope_id, bucket, country, "
            "region, "
            f"city, currency, source{''.join(', ' + c for c in cols)}) VALUES "
            f"(%s, %s, %s, %s, %s, %s, %s, %s{', %s' * len(cols)}) "
            "ON CONFLICT (scope_kind, scope_id, bucket, country, region, city, currency, source) "
            "DO UPDATE SET "
            + ", ".join(f"{c} = dashboard_hourly_aggregate.{c} + excluded.{c}" for c in cols),
            [scope_kind, scope_id, bucket, country, region, city, currency, source, *values],
        )
    mark_dirty(scope_kind, scope_id, bucket, bucket)
    if scope_kind == "platform":
        mark_dirty("region", country, bucket, bucket)


def insert_event_rows(bucket, *, merchant=None, bank=None, agent=None, **kw):
    """The rows one pre-aggregated group of events gives: platform + each tenant scope."""
    insert_agg("platform", "", bucket, **kw)
    for kind, ident in (("merchant", merchant), ("bank", bank), ("agent", agent)):
        if ident:
            insert_agg(kind, ident, bucket, **kw)


def refreshed(*scopes):
    """The scheduled refresh, before a read (a read never computes a snapshot): the dirty
    scopes, and `scopes` (texts) even without data."""
    from accounts.scope import Scope
    from dashboard.snapshots.refresh import snapshot_refresh_scope, snapshots_refresh_dirty

    for text in scopes:
        snapshot_refresh_scope(scope=Scope.parse(text))
    snapshots_refresh_dirty()


def mark_dirty(kind, ident, lo, hi, marked_at=None, reason="events"):
    """One pending change of the scope (what ingestion inserts for a batch)."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO dashboard_dirty_change (scope_kind, scope_id, min_bucket, max_bucket, "
            "reason, marked_at) VALUES (%s, %s, %s, %s, %s, %s)",
            [kind, ident, lo, hi, reason, marked_at or datetime.now(UTC)],
        )


def expected_totals(kind, ident, frm, to, *, country=None):
    """Independent sums straight from the aggregate table (counts; money per currency)."""
    where = "scope_kind = %s AND scope_id = %s"
    params = [kind, ident]
    if kind == "region":
        where, params = "scope_kind = 'platform' AND scope_id = '' AND country = %s", [ident]
    if country:
        where += " AND country = %s"
        params.append(country)
    counts = dict.fromkeys(COUNT_FIGURES, 0)
    amounts = defaultdict(lambda: dict.fromkeys(MONEY_FIGURES, Decimal(0)))
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT currency, {', '.join(FIGURES)} FROM dashboard_hourly_aggregate "
            f"WHERE {where} AND bucket >= %s AND bucket < %s",
            [*params, frm, to],
        )
        for currency, *values in cur.fetchall():
            for name, v in zip(FIGURES, values, strict=True):
                if name in COUNT_FIGURES:
                    counts[name] += v
                else:
                    amounts[currency][name] += v
    return counts, dict(amounts)


def dec(text):
    return Decimal(text)


def amounts_as_decimals(amounts):
    return {c: {k: Decimal(v) for k, v in a.items()} for c, a in amounts.items()}


def nonzero(amounts):
    return {
        c: {k: v for k, v in a.items()}
        for c, a in amounts.items()
        if c and any(v != 0 for v in a.values())
    }


@pytest.fixture
def clean_overview_cache():
    """No overview bytes or freshness tick of this test run's prefix in Redis."""

    def wipe():

        mirror.clear()
        client = cache.client()
        keys = list(client.scan_iter(match=f"{cache._prefix()}:overview:*", count=1000))
        keys += client.scan_iter(match=cache.dirty_key("*"), count=1000)
        keys.append(cache.tick_key())
        client.delete(*keys)

    wipe()
    yield
    wipe()


def hours_ago(n):
    return now_hour() - timedelta(hours=n)


@pytest.fixture
def wiped_aggregates():
    """Empty aggregate, rollup and dirty tables around a test that commits (raw tables are
    not reset by Django's flush)."""

    def wipe():  # as the owner (the application's role may truncate nothing): commits
        with dbroles.as_owner(), connection.cursor() as cur:
            cur.execute(
                "TRUNCATE dashboard_hourly_aggregate, dashboard_scope_hourly, "
                "dashboard_scope_daily, dashboard_dirty_change, dashboard_bank_merchant_hourly"
            )

    wipe()
    yield
    wipe()
