"""Snapshot refresh: services that claim dirty scopes, rewrite rollups and recompute snapshots.

Concurrency: one PostgreSQL session advisory lock per scope. Whoever holds it
claims the scope's pending changes, rewrites its rollups and computes every
period, all in one transaction; a second worker skips the scope (try-lock) and
leaves any newer change for the next run. Ingestion only inserts change rows,
so nothing this transaction holds (even while it waits on a rollup rebuild)
makes a batch wait. Idempotent: recomputing a scope yields the same payload
for the same aggregates (only `computed_at` moves).
"""

import hashlib
import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from accounts.scope import Scope
from dashboard.models import Snapshot
from dashboard.snapshots import cache, series_cache, sql
from dashboard.snapshots.compute import compute_scope
from dashboard.snapshots.health import SNAPSHOT_COMPUTED
from dashboard.snapshots.periods import MAX_LOOKBACK
from dashboard.widgets import cache as widget_cache

logger = logging.getLogger(__name__)
# The platform snapshot's top lists read the region and merchant rollups, so
# the platform comes last in a run, after those rollups were rewritten.
_KIND_ORDER = {"region": 0, "merchant": 1, "bank": 2, "agent": 3, "platform": 9}


def scope_lock_key(scope):
    """The PostgreSQL advisory lock key under which a scope's snapshots are refreshed."""
    digest = hashlib.blake2b(f"dashboard.snapshot:{scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def snapshot_refresh_scope(*, scope, wait=False, now=None):
    """Recompute the rollups (dirty range) and every period's snapshot of `scope`.

    Returns {period: (body, computed_at, window_to)}, or None when another
    worker holds the scope (and `wait` is false).
    """
    key = scope_lock_key(scope)
    with connection.cursor() as cur:
        if wait:
            cur.execute("SELECT pg_advisory_lock(%s)", [key])
        else:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cur.fetchone()[0]:
                return None
        try:
            return _refresh_locked(cur, scope, now)
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", [key])


def _refresh_locked(cur, scope, now):
    # One transaction: claim the pending changes (deleting exactly the rows
    # seen), rewrite the rollups of their range, compute and store the
    # snapshots. Other readers keep seeing the changes (and so read the raw
    # aggregates of that range) until it commits; a failure anywhere rolls it
    # all back and leaves the changes for the next run. Ingestion never waits
    # on it: it inserts new change rows and touches no row claimed here.
    with transaction.atomic():
        lo, hi, _count, claimed_at = sql.claim_dirty(cur, scope.kind, scope.id)
        if lo is not None:
            sql.rollup_refresh(cur, scope.kind, scope.id, lo, hi)
        result, computed_at, as_ofs = compute_scope(cur, scope, now=now)
        sql.snapshots_upsert(
            cur,
            [
                (scope.kind, scope.id, period, body.decode(), window_to, as_ofs[period],
                 computed_at)
                for period, (body, window_to) in result.items()
            ],
        )  # fmt: skip
    entries = {p: (body, computed_at, window_to) for p, (body, window_to) in result.items()}
    cache.store(str(scope), entries, covered_at=claimed_at)
    widget_cache.bump_generations([str(scope)])  # the scope's cached widget data is old now
    SNAPSHOT_COMPUTED.labels(scope.kind).set(computed_at.timestamp())
    return entries


def _ordered(pairs):
    return sorted(set(pairs), key=lambda p: (_KIND_ORDER.get(p[0], 9), p[1]))


def _dirty_pairs():
    with connection.cursor() as cur:
        return sql.dirty_scopes(cur)


def _run(pairs, *, started, budget_s=None, now=None):
    """Refresh each scope; advance the freshness tick only when every scope was done.

    `started` must precede the listing of `pairs`: the tick vouches for every
    scope not dirty at that time."""
    t0 = time.monotonic()
    stats = {"refreshed": 0, "skipped_locked": 0, "failed": 0, "deferred": 0}
    for kind, ident in pairs:
        if budget_s is not None and time.monotonic() - t0 > budget_s and kind != "platform":
            # Over budget: the rest waits for the next run, except the
            # platform (last in the list), which every dashboard opens first.
            stats["deferred"] += 1
            continue
        try:
            done = snapshot_refresh_scope(scope=Scope(kind, ident), now=now)
        except Exception:
            logger.exception("snapshot refresh of %s:%s failed", kind, ident)
            stats["failed"] += 1
            continue
        stats["refreshed" if done is not None else "skipped_locked"] += 1
    if not (stats["failed"] or stats["deferred"] or stats["skipped_locked"]):
        cache.set_tick(started)
    stats["seconds"] = round(time.monotonic() - t0, 3)
    return stats


def snapshots_refresh_dirty(*, now=None):
    """Recompute the scopes ingestion marked dirty, then the snapshots whose hour window ended.

    Dirty scopes (new data) go first, the platform last of them (its top lists
    read the other scopes' rollups); ended windows fill the rest of the budget.
    """
    started = datetime.now(UTC)
    now = now or started
    dirty = _ordered(_dirty_pairs())
    platform = [p for p in dirty if p[0] == "platform"]
    seen = set(dirty)
    expired = [
        p
        for p in _ordered(
            Snapshot.objects.filter(window_to__lte=now).values_list("scope_kind", "scope_id")
        )
        if p not in seen
    ]
    pairs = [p for p in dirty if p[0] != "platform"] + platform + expired
    budget = max(0.8 * settings.SNAPSHOT_REFRESH_INTERVAL_S, 1.0)
    return _run(pairs, started=started, budget_s=budget, now=now)


FULL_REFRESH_CHUNK = 200


def snapshots_refresh_all(*, now=None, dispatch=None):
    """Recompute every active scope (data in the last 61 days, or a snapshot) and the platform.

    The platform is done here; the other scopes in chunks of FULL_REFRESH_CHUNK
    given to `dispatch(pairs)` (the Celery task enqueues one batch task per
    chunk, so thousands of scopes spread over the workers and no task nears
    the time limit), or done inline without `dispatch`.
    """
    started = datetime.now(UTC)
    now = now or started
    with connection.cursor() as cur:
        active = sql.active_scopes(cur, now - MAX_LOOKBACK - timedelta(days=1))
    known = Snapshot.objects.values_list("scope_kind", "scope_id")
    pairs = [p for p in _ordered([*active, *known, *_dirty_pairs()]) if p[0] != "platform"]
    if dispatch is None:
        return _run([*pairs, ("platform", "")], started=started, now=now)
    for i in range(0, len(pairs), FULL_REFRESH_CHUNK):
        dispatch(pairs[i : i + FULL_REFRESH_CHUNK])
    stats = _run([("platform", "")], started=started, now=now)
    stats["dispatched"] = len(pairs)
    return stats


def snapshots_refresh_batch(*, pairs):
    """Recompute the given (scope_kind, scope_id) scopes (one chunk of a full refresh)."""
    started = datetime.now(UTC)
    stats = {"refreshed": 0, "skipped_locked": 0, "failed": 0}
    for kind, ident in pairs:
        try:
            done = snapshot_refresh_scope(scope=Scope(kind, ident))
        except Exception:
            logger.exception("snapshot refresh of %s:%s failed", kind, ident)
            stats["failed"] += 1
            continue
        stats["refreshed" if done is not None else "skipped_locked"] += 1
    stats["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 3)
    return stats


def rollups_rebuild(*, since, until):
    """Rebuild every rollup row for hours [since, until] from the aggregates (after bulk loads);
    the stored time-series answers go too (a bulk load renews no scope's generation)."""
    with transaction.atomic(), connection.cursor() as cur:
        sql.rollup_rebuild_all(cur, since, until)
    series_cache.forget_all()
