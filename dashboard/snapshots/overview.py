"""Reading the overview of a scope: Redis bytes, else the snapshot row flagged stale, else 503.

A read never computes nor writes a snapshot: on a Redis miss it queues the scope's
refresh (a Celery task, at most once per SNAPSHOT_REFRESH_INTERVAL_S and scope) and
answers with what the table holds.
"""

import contextlib
import logging

from django.conf import settings
from rest_framework.exceptions import APIException

from dashboard.models import Snapshot
from dashboard.snapshots import cache
from dashboard.tasks import refresh_snapshot_batch

logger = logging.getLogger(__name__)

# During a database outage the Redis bytes are still served, flagged: figures
# cannot be refreshed while it lasts (see docs/snapshots.md, degraded mode).
DEGRADED_PREFIX = b'{"stale":true,"degraded":true,"stale_reason":"database_unavailable",'


# Served from the table on a Redis miss: the row may be behind Redis's last bytes (lost
# with Redis) and the refresh it queued is not done yet.
PENDING_PREFIX = b'{"stale":true,"stale_reason":"refresh_pending",'
# Seconds a client is told to wait for a scope's first snapshot (a scope computes in
# well under a second; the queue may hold a full refresh's batches before it).
PENDING_RETRY_AFTER_S = 5


class SnapshotPending(APIException):
    """No snapshot of the scope yet: its computation is queued (503 with Retry-After)."""

    status_code = 503
    default_code = "snapshot_pending"
    default_detail = "The figures of this scope are being computed: retry shortly."
    wait = PENDING_RETRY_AFTER_S


def _reflagged(body, prefix):
    for old in (cache.FRESH_PREFIX, cache.STALE_PREFIX):
        if body.startswith(old):
            return prefix + body[len(old) :]
    return body


def degraded_body(body):
    return _reflagged(body, DEGRADED_PREFIX)


def refresh_enqueue(scope_text, kind, ident):
    """Queue the scope's refresh, once per SNAPSHOT_REFRESH_INTERVAL_S (best effort: the
    scheduled refreshes reach it anyway)."""
    client = cache.client()
    key = cache.queued_key(scope_text)
    try:
        if not client.set(key, b"1", nx=True, ex=settings.SNAPSHOT_REFRESH_INTERVAL_S):
            return False
    except Exception:  # noqa: BLE001 - Redis down: no deduplication, no queue either
        return False
    try:
        # No publish retries: a broker that is down must not hold the request.
        refresh_snapshot_batch.apply_async(args=[[[kind, ident]]], retry=False)
    except Exception:  # noqa: BLE001
        logger.warning("could not queue the refresh of %s", scope_text, exc_info=True)
        with contextlib.suppress(Exception):
            client.delete(key)  # the next request tries again
        return False
    return True


def overview_body(scope, period, *, degraded=False):
    """The overview JSON bytes of `scope` and `period`, with `stale` set from its age.

    `degraded`: the database is known to be unreachable, so the Redis copy is
    served flagged stale and degraded (a miss then fails with the database error).
    Raises SnapshotPending when neither Redis nor the table has the scope.
    """
    scope_text = str(scope)
    try:  # (this process's mirror of the keys, else one round trip)
        value, tick, dirty = cache.fetch(scope_text, period)
    except Exception:  # noqa: BLE001 - Redis down: the database still answers
        value, tick, dirty = None, None, None
    if value is not None:
        body, computed, window_to, covered = cache.unpack(value)
        if degraded:
            return degraded_body(body)
        return cache.with_staleness(
            body, computed, window_to, tick, covered_at=covered, dirty_since=dirty
        )
    # Redis has nothing: the last stored row (flagged stale) while the refresh is queued.
    row = (
        Snapshot.objects.filter(scope_kind=scope.kind, scope_id=scope.id, period=period)
        .values_list("body", flat=True)
        .first()
    )
    refresh_enqueue(scope_text, scope.kind, scope.id)
    if row is None:
        raise SnapshotPending()
    return _reflagged(row.encode(), PENDING_PREFIX)
