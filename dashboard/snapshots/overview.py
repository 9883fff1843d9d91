"""Reading the overview of a scope: Redis bytes, else the snapshot table, else compute now."""

import logging
import time

from django.db import connection

from dashboard.models import Snapshot
from dashboard.snapshots import cache, sql
from dashboard.snapshots.refresh import snapshot_refresh_scope

logger = logging.getLogger(__name__)

# Each worker process keeps the Redis bytes of a scope and period for at most
# this long: under load most requests then cost no network round trip, and a
# new snapshot shows at most this much later than in Redis.
LOCAL_CACHE_S = 1.0
_LOCAL_MAX = 5000
_local = {}


# During a database outage the Redis bytes are still served, flagged: figures
# cannot be refreshed while it lasts (see docs/snapshots.md, degraded mode).
DEGRADED_PREFIX = b'{"stale":true,"degraded":true,"stale_reason":"database_unavailable",'


def degraded_body(body):
    for prefix in (cache.FRESH_PREFIX, cache.STALE_PREFIX):
        if body.startswith(prefix):
            return DEGRADED_PREFIX + body[len(prefix) :]
    return body


def overview_body(scope, period, *, degraded=False):
    """The overview JSON bytes of `scope` and `period`, with `stale` set from its age.

    `degraded`: the database is known to be unreachable, so the Redis copy is
    served flagged stale and degraded (a miss then fails with the database error).
    """
    scope_text = str(scope)
    now = time.time()
    local = _local.get((scope_text, period))
    if local is not None and local[0] > now:
        value, tick, dirty = local[1], local[2], local[3]
    else:
        try:
            value, tick, dirty = cache.fetch(scope_text, period)
        except Exception:  # noqa: BLE001 - Redis down: the database still answers
            value, tick, dirty = None, None, None
        if value is not None:
            if len(_local) > _LOCAL_MAX:
                _local.clear()
            _local[(scope_text, period)] = (now + LOCAL_CACHE_S, value, tick, dirty)
    if value is not None:
        body, computed, window_to, covered = cache.unpack(value)
        if degraded:
            return degraded_body(body)
        return cache.with_staleness(
            body, computed, window_to, tick, covered_at=covered, dirty_since=dirty
        )
    row = (
        Snapshot.objects.filter(scope_kind=scope.kind, scope_id=scope.id, period=period)
        .values_list("body", "computed_at", "window_to")
        .first()
    )
    if row is not None:
        body, computed_at, window_to = row[0].encode(), row[1], row[2]
        # The row was written in the transaction that claimed the scope's changes:
        # it covers every change but those still pending (read exactly here).
        with connection.cursor() as cur:
            pending, db_now = sql.corrections_pending(cur, scope.kind, scope.id)
        try:
            cache.store(
                scope_text, {period: (body, computed_at, window_to)}, None if pending else db_now
            )
            if pending:
                cache.mark_stale([scope_text], pending)
        except Exception:  # noqa: BLE001 - serving from the table is fine
            logger.warning("could not re-cache the %s %s snapshot", scope_text, period)
        # Pending: stale (a mark at 0 is not before a coverage of 0), whatever Redis holds.
        covered, dirty = (0.0, 0.0) if pending else (db_now.timestamp(), None)
    else:
        entries = snapshot_refresh_scope(scope=scope, wait=True)
        body, computed_at, window_to = entries[period]
        covered, dirty = 0.0, None
    return cache.with_staleness(
        body, computed_at.timestamp(), window_to.timestamp(), tick, now=time.time(),
        covered_at=covered, dirty_since=dirty,
    )  # fmt: skip
