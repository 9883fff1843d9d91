"""Redis side of the snapshots: the pre-serialized overview bytes, served as they are.

Value layout: b"<computed_at epoch> <window_to epoch>\n" + JSON body whose
first member is `"stale":false`, so the view flips staleness by swapping a
prefix and never parses or re-serializes the payload.
"""

import time

import redis
from django.conf import settings

FRESH_PREFIX = b'{"stale":false,'
STALE_PREFIX = b'{"stale":true,'
_client = None


def client():
    """One connection pool per process (thread-safe), short timeouts: Redis down means DB."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
    return _client


def _prefix():
    return settings.CACHES["default"].get("KEY_PREFIX") or "molam"


def overview_key(scope_text, period):
    return f"{_prefix()}:overview:v1:{scope_text}:{period}"


def tick_key():
    """When the last complete refresh run started: every snapshot not dirty then was current."""
    return f"{_prefix()}:snapshots:tick"


def pack(body, computed_at, window_to):
    return b"%d %d\n" % (int(computed_at.timestamp()), int(window_to.timestamp())) + body


def unpack(value):
    head, _, body = value.partition(b"\n")
    computed, window_to = head.split(b" ")
    return body, int(computed), int(window_to)


def store(scope_text, entries):
    """Write {period: (body, computed_at, window_to)} of one scope in one round trip."""
    ttl = max(4 * settings.SNAPSHOT_FULL_REFRESH_INTERVAL_S, 3600)
    pipe = client().pipeline(transaction=False)
    for period, (body, computed_at, window_to) in entries.items():
        pipe.set(overview_key(scope_text, period), pack(body, computed_at, window_to), ex=ttl)
    pipe.execute()


def fetch(scope_text, period):
    """(packed value or None, tick epoch or None) in one round trip."""
    value, tick = client().mget(overview_key(scope_text, period), tick_key())
    return value, (float(tick) if tick else None)


def set_tick(started_at):
    client().set(tick_key(), repr(started_at.timestamp()))


def freshness_age(computed_at, window_to, tick, now=None):
    """Seconds since the snapshot was last known current.

    A refresh run that finished cleanly vouches (through the tick) for every
    snapshot whose scope was not dirty when it started, as long as the
    snapshot's window has not moved on to a new hour.
    """
    now = now or time.time()
    fresh_at = computed_at
    if tick and window_to > now:
        fresh_at = max(fresh_at, tick)
    return now - fresh_at


def with_staleness(body, computed_at, window_to, tick, now=None):
    age = freshness_age(computed_at, window_to, tick, now)
    if age > 2 * settings.SNAPSHOT_REFRESH_INTERVAL_S and body.startswith(FRESH_PREFIX):
        return STALE_PREFIX + body[len(FRESH_PREFIX) :]
    return body
