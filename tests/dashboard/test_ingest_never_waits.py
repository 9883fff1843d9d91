"""Ingestion never waits on the read side.

A snapshot refresh (claim, rollup rewrite, compute) and a rollup rebuild (which
locks both rollup tables) are held open on their own database connections at
their slowest point, while a batch goes through `apply_prepared` on the test's
connection with `lock_timeout` and `statement_timeout` of 2 s: any wait on a
lock they hold fails the batch loudly instead of stalling it. Afterwards the
refresh finishes, and the figures are exact once the remaining marks are
refreshed (no mark of the batch was lost).
"""

import threading
import time
from datetime import timedelta

import orjson
import pytest
from django.db import connection, connections

from accounts.scope import Scope
from dashboard.ingest.services import WireBatch, apply_prepared, prepare_wire
from dashboard.models import DirtyScope, Snapshot
from dashboard.snapshots import refresh as refresh_module
from dashboard.snapshots.periods import window
from dashboard.snapshots.refresh import snapshot_refresh_scope, snapshots_refresh_dirty
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    expected_totals,
    wiped_aggregates,  # noqa: F401
)
from tests.race import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ingest_clean", "wiped_aggregates", "clean_overview_cache"),
]

TIMEOUT = "2s"


def _batch(ingest_event, n, merchant="m_nw"):
    records = [(ingest_event(merchant_id=merchant, bank_id="b_nw"), None) for _ in range(n)]
    return prepare_wire(WireBatch.of([payload for payload, _ in records]))


def _ingest_with_timeout(batch):
    """apply_prepared on this connection, any lock wait over 2 s an error; returns seconds."""
    with connection.cursor() as cur:
        cur.execute(f"SET lock_timeout = '{TIMEOUT}'")
        cur.execute(f"SET statement_timeout = '{TIMEOUT}'")
    try:
        started = time.monotonic()
        result = apply_prepared(batch)
        elapsed = time.monotonic() - started
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET lock_timeout")
            cur.execute("RESET statement_timeout")
    assert result.counted == batch.received
    return elapsed


def _waiting_backends():
    """Backends of this test database waiting on a lock (the held refresh)."""
    with connections.create_connection("default").cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0]


class _Thread(threading.Thread):
    """A worker on its own database connection; re-raises its exception on join."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._target_fn = target
        self.error = None
        self.result = None

    def run(self):
        try:
            self.result = self._target_fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
        finally:
            connection.close()

    def finish(self):
        self.join(30)
        assert not self.is_alive(), "held worker did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _rebuild_holder(held, release):
    """What rollups_rebuild takes first: both rollup tables locked until commit."""

    def run():
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute(
                    "LOCK TABLE dashboard_scope_hourly, dashboard_scope_daily IN EXCLUSIVE MODE"
                )
                held.set()
                release.wait(30)
                cur.execute("COMMIT")
        finally:
            conn.close()

    return _Thread(run)


def _assert_exact_after_refresh():
    """Every mark left is refreshed; the platform and merchant snapshots equal the aggregates."""
    snapshots_refresh_dirty()
    assert not DirtyScope.objects.exists()
    for scope in ("platform", "merchant:m_nw", "bank:b_nw"):
        s = Scope.parse(scope)
        for snap in Snapshot.objects.filter(scope_kind=s.kind, scope_id=s.id):
            body = orjson.loads(snap.body)
            frm, to, _pf, _pt = window(snap.period, snap.computed_at)
            counts, _amounts = expected_totals(s.kind, s.id, frm, to)
            assert body["counts"] == counts, (scope, snap.period)


def test_a_batch_commits_while_a_refresh_waits_behind_a_rollup_rebuild(ingest_event):
    apply_prepared(_batch(ingest_event, 50))  # the platform, merchant and bank now dirty
    held, release = threading.Event(), threading.Event()
    rebuild = _rebuild_holder(held, release)
    rebuild.start()
    refresh = None
    try:
        assert held.wait(10)
        # The refresh claims the platform, then waits on the rebuild's table lock
        # inside its transaction (the 6-minute stall seen in production).
        refresh = _Thread(lambda: snapshot_refresh_scope(scope=Scope.platform()))
        refresh.start()
        assert wait_for(lambda: _waiting_backends() >= 1, seconds=10, every=0.05), (
            "the refresh never reached the lock"
        )
        elapsed = _ingest_with_timeout(_batch(ingest_event, 200))
        assert elapsed < 2.0
    finally:
        release.set()
        rebuild.finish()
        if refresh is not None:
            refresh.finish()
    _assert_exact_after_refresh()


def test_a_batch_commits_while_a_refresh_is_held_in_its_computation(
    ingest_event, ingest_hour, monkeypatch
):
    """A slow refresh (platform scope over a long late-event range): held after its claim
    and rollup rewrite, in the middle of computing the snapshot."""
    apply_prepared(_batch(ingest_event, 50))
    inside, release = threading.Event(), threading.Event()
    real_compute = refresh_module.compute_scope

    def slow_compute(cur, scope, **kw):
        inside.set()
        release.wait(30)
        return real_compute(cur, scope, **kw)

    monkeypatch.setattr(refresh_module, "compute_scope", slow_compute)
    refresh = _Thread(lambda: snapshot_refresh_scope(scope=Scope.platform()))
    refresh.start()
    try:
        assert inside.wait(10)
        elapsed = _ingest_with_timeout(_batch(ingest_event, 200))
        # A late event (three days back) widens the platform's range while it is held.
        late = ingest_event(
            merchant_id="m_nw",
            bank_id="b_nw",
            occurred_at=(ingest_hour - timedelta(days=3)).isoformat(),
        )
        elapsed += _ingest_with_timeout(prepare_wire(WireBatch.of([late])))
        assert elapsed < 4.0
    finally:
        release.set()
        refresh.finish()
    monkeypatch.setattr(refresh_module, "compute_scope", real_compute)
    _assert_exact_after_refresh()
