"""Reading the overview of a scope: Redis bytes, else the snapshot table, else compute now."""

import logging
import time

from dashboard.models import Snapshot
from dashboard.snapshots import cache
from dashboard.snapshots.refresh import snapshot_refresh_scope

logger = logging.getLogger(__name__)

# Each worker process keeps the Redis bytes of a scope and period for at most
# this long: under load most requests then cost no network round trip, and a
# new snapshot shows at most this much later than in Redis.
LOCAL_CACHE_S = 1.0
_LOCAL_MAX = 5000
_local = {}


def overview_body(scope, period):
    """The overview JSON bytes of `scope` and `period`, with `stale` set from its age."""
    scope_text = str(scope)
    now = time.time()
    local = _local.get((scope_text, period))
    if local is not None and local[0] > now:
        value, tick = local[1], local[2]
    else:
        try:
            value, tick = cache.fetch(scope_text, period)
        except Exception:  # noqa: BLE001 - Redis down: the database still answers
            value, tick = None, None
        if value is not None:
            if len(_local) > _LOCAL_MAX:
                _local.clear()
            _local[(scope_text, period)] = (now + LOCAL_CACHE_S, value, tick)
    if value is not None:
        body, computed, window_to = cache.unpack(value)
        return cache.with_staleness(body, computed, window_to, tick)
    row = (
        Snapshot.objects.filter(scope_kind=scope.kind, scope_id=scope.id, period=period)
        .values_list("body", "computed_at", "window_to")
        .first()
    )
    if row is not None:
        body, computed_at, window_to = row[0].encode(), row[1], row[2]
        try:
            cache.store(scope_text, {period: (body, computed_at, window_to)})
        except Exception:  # noqa: BLE001 - serving from the table is fine
            logger.warning("could not re-cache the %s %s snapshot", scope_text, period)
    else:
        entries = snapshot_refresh_scope(scope=scope, wait=True)
        body, computed_at, window_to = entries[period]
    return cache.with_staleness(
        body, computed_at.timestamp(), window_to.timestamp(), tick, now=time.time()
    )
