"""Redis side of the snapshots: the pre-serialized overview bytes, served as they are.

Value layout: b"<computed_at epoch> <window_to epoch> <covered_at epoch>\n" +
JSON body whose first member is `"stale":false`, so the view flips staleness
by swapping a prefix and never parses or re-serializes the payload.
`covered_at` (database clock) is when the refresh claimed the scope's pending
changes: every change committed before it is in the snapshot.

Stale marks: a change that makes figures already shown wrong (new FX rates)
writes, after its commit, `<prefix>:snapshots:dirty:<scope>` = the database
time just before that commit. A snapshot covering an earlier time is stale.
"""

import time

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from common.redis_mirror import mirror

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


# Values derived from the CACHES setting, computed once per process (read on every
# request); emptied when a test changes the setting.
_from_settings = {}


def from_settings(name, compute):
    """`compute()` once, then its value, until the CACHES setting changes."""
    value = _from_settings.get(name)
    if value is None:
        value = _from_settings[name] = compute()
    return value


@receiver(setting_changed)
def _caches_changed(setting, **kwargs):
    if setting == "CACHES":
        _from_settings.clear()


def _read_prefix():
    return settings.CACHES["default"].get("KEY_PREFIX") or "molam"


def key_prefix():
    return from_settings("key_prefix", _read_prefix)


_prefix = key_prefix


def overview_key(scope_text, period):
    return f"{_prefix()}:overview:v1:{scope_text}:{period}"


def tick_key():
    """When the last complete refresh run started: every snapshot not dirty then was current."""
    return f"{_prefix()}:snapshots:tick"


def dirty_key(scope_text):
    """Database time of the last change that made this scope's shown figures stale."""
    return f"{_prefix()}:snapshots:dirty:{scope_text}"


def queued_key(scope_text):
    """Set while a refresh of this scope queued by a read is pending (deduplication)."""
    return f"{_prefix()}:snapshots:queued:{scope_text}"


def _ttl():
    # Every scope with a snapshot is rewritten each full refresh, so the TTL only
    # matters once refreshes stop (a database outage): the overview keeps serving
    # (flagged stale) the last bytes for a day.
    return max(4 * settings.SNAPSHOT_FULL_REFRESH_INTERVAL_S, 86400)


def pack(body, computed_at, window_to, covered_at=None):
    covered = covered_at.timestamp() if covered_at is not None else 0.0
    head = b"%d %d %.6f\n" % (int(computed_at.timestamp()), int(window_to.timestamp()), covered)
    return head + body


def unpack(value):
    """(body, computed_at epoch, window_to epoch, covered_at epoch: 0.0 when unknown)."""
    head, _, body = value.partition(b"\n")
    parts = head.split(b" ")
    covered = float(parts[2]) if len(parts) > 2 else 0.0
    return body, int(parts[0]), int(parts[1]), covered


def store(scope_text, entries, covered_at=None):
    """Write {period: (body, computed_at, window_to)} of one scope in one round trip;
    `covered_at`: when its refresh claimed the scope's changes (None: unknown)."""
    ttl = _ttl()
    pipe = client().pipeline(transaction=False)
    for period, (body, computed_at, window_to) in entries.items():
        value = pack(body, computed_at, window_to, covered_at)
        pipe.set(overview_key(scope_text, period), value, ex=ttl)
    pipe.execute()
    mirror.forget(*(overview_key(scope_text, period) for period in entries))


def fetch_keys(scope_text, period):
    """The keys one overview read needs (its bytes, the freshness tick, the stale mark)."""
    return [overview_key(scope_text, period), tick_key(), dirty_key(scope_text)]


def fetched(values):
    """(packed value or None, tick epoch or None, stale-mark epoch or None) from the values
    of fetch_keys."""
    value, tick, dirty = values
    return value, (float(tick) if tick else None), (float(dirty) if dirty else None)


def fetch(scope_text, period):
    """fetched() of one scope and period: from this process's mirror, else one round trip."""
    return fetched(mirror.mget(client(), fetch_keys(scope_text, period)))


# Keeps the later of the stored and the given time (two changes may commit in any order).
_KEEP_MAX = """
local v = redis.call('GET', KEYS[1])
if (not v) or tonumber(v) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def mark_stale(scope_texts, changed_at):
    """After the commit of a change that makes the figures of `scope_texts` stale: record
    its time (`changed_at`, database clock just before the commit)."""
    if not scope_texts:
        return
    script = client().register_script(_KEEP_MAX)
    pipe = client().pipeline(transaction=False)
    for scope_text in scope_texts:
        script(keys=[dirty_key(scope_text)], args=[repr(changed_at.timestamp()), _ttl()],
               client=pipe)  # fmt: skip
    pipe.execute()
    mirror.forget(*(dirty_key(scope_text) for scope_text in scope_texts))


def set_tick(started_at):
    client().set(tick_key(), repr(started_at.timestamp()))
    mirror.forget(tick_key())


# Every process keeps what it read of these (common/redis_mirror.py): Redis tells it when
# one changes.
mirror.watch(f"{_prefix()}:overview:v1:")
mirror.watch(tick_key())
mirror.watch(dirty_key(""))


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


def is_stale(computed_at, window_to, tick, now=None, *, covered_at=0.0, dirty_since=None):
    """Older than two refresh intervals, or a stale-making change came after its claim."""
    if dirty_since is not None and dirty_since >= covered_at:
        return True
    return (
        freshness_age(computed_at, window_to, tick, now) > 2 * settings.SNAPSHOT_REFRESH_INTERVAL_S
    )


def with_staleness(body, computed_at, window_to, tick, now=None, *, covered_at=0.0,
                   dirty_since=None):  # fmt: skip
    stale = is_stale(
        computed_at, window_to, tick, now, covered_at=covered_at, dirty_since=dirty_since
    )
    if stale and body.startswith(FRESH_PREFIX):
        return STALE_PREFIX + body[len(FRESH_PREFIX) :]
    return body
