"""The live transactions feed: the newest counted events of each scope, in a capped Redis stream.

Why a Redis stream and not a table: no raw events are stored in PostgreSQL
(the figures are aggregates), and the Transactions page only needs the newest
few hundred events of the scope it shows, pushed as they arrive. A stream per
scope, capped (XADD MAXLEN ~), is exactly that: append-only with ids a client
can resume from (`Last-Event-ID`), and XREAD BLOCK wakes the page's
server-sent-events connection when something arrives. The figures live in
PostgreSQL; this feed is only a view of them, so it is written AFTER the
batch's commit (never an event the database did not count), best effort (a
Redis failure is logged and counted, never fails, retries or holds up the batch)
and may lose entries (a Redis restart, a client away longer than the cap).

Writer (ingestion, `feed_append`): per committed batch, per scope the batch's
counted events fan out to (the scopes ingestion counts them in), the newest
FEED_PER_BATCH events in one Redis round trip. It runs in the ingestion's hot
path, so it looks at no more than the batch's last FEED_BATCH_WINDOW events
(only a backlog's batches are larger), groups them in one pass, encodes each
chosen event once (msgspec, all in one call), and leaves the round trip to a
sender thread: one Lua script call (cheaper than a pipeline of XADDs, whose
replies cost more CPU to parse than the entries cost to build), which the batch
never waits for.

Reader (the web's SSE endpoint): `feed_latest`, `feed_after`, `feed_wait`.
An entry is the public JSON of one event (`Entry`): the reader hands its bytes
to the browser as they are.
"""

import atexit
import logging
import queue
import threading
import time
from collections import defaultdict
from heapq import nlargest
from operator import attrgetter

import msgspec
import redis
from django.conf import settings
from prometheus_client import Counter, Gauge
from redis.backoff import NoBackoff
from redis.retry import Retry

from dashboard.choices import EventOutcome, EventType

log = logging.getLogger("dashboard.stream")

FEED_PER_BATCH = 50  # newest events kept per scope and batch
# A batch larger than this (a backlog being caught up: steady rates give batches
# of a few hundred) feeds only its last FEED_BATCH_WINDOW events. Fanning every
# event of a 20 000-event batch out to its scopes cost a quarter of the
# ingestion's CPU (measured with bench/ingest.py); this bound keeps the feed's
# cost per batch small and flat, when nobody could read every row anyway.
FEED_BATCH_WINDOW = 1000
FEED_MAXLEN = 200  # entries kept per scope (approximately: MAXLEN ~ trims whole nodes)
# A scope quiet for a day loses its feed: Redis holds the feeds of the active scopes
# only (a full feed is some 70 KB).
FEED_TTL_S = 24 * 3600
# After a Redis failure, batches skip the feed for this long instead of each
# waiting for a timeout.
FEED_PAUSE_AFTER_ERROR_S = 5.0
# Batches waiting for the sender thread; beyond that (Redis slower than the
# ingestion) a batch's entries are dropped rather than held in memory.
FEED_QUEUE = 4

FEED_ENTRIES = Counter("dashboard_stream_feed_entries", "Entries appended to the live feeds.")
FEED_ERRORS = Counter(
    "dashboard_stream_feed_errors",
    "Batches whose live-feed write failed (Redis error; the batch itself is counted).",
)
FEED_LEFT_OUT = Counter(
    "dashboard_stream_feed_left_out",
    "Counted events of large batches (backlog) left out of the live feeds (FEED_BATCH_WINDOW).",
)
FEED_SKIPPED = Counter(
    "dashboard_stream_feed_skipped",
    "Batches not written to the live feeds: Redis failed moments before, or is behind.",
)
STREAMS_OPEN = Gauge(
    "dashboard_stream_connections",
    "Open server-sent-events connections of the Transactions page.",
    multiprocess_mode="livesum",
)

_OUTCOME = {
    EventType.PAYMENT_INITIATED: EventOutcome.PENDING,
    EventType.PAYMENT_SUCCEEDED: EventOutcome.SUCCEEDED,
    EventType.PAYMENT_FAILED: EventOutcome.FAILED,
    EventType.REFUND_SUCCEEDED: EventOutcome.SUCCEEDED,
    EventType.DISPUTE_OPENED: EventOutcome.FLAGGED,
    EventType.PAYOUT_COMPLETED: EventOutcome.SUCCEEDED,
    EventType.PAYOUT_FAILED: EventOutcome.FAILED,
    EventType.FRAUD_FLAGGED: EventOutcome.FLAGGED,
    EventType.TRANSFER_COMPLETED: EventOutcome.SUCCEEDED,
    EventType.CASH_IN_COMPLETED: EventOutcome.SUCCEEDED,
    EventType.CASH_OUT_COMPLETED: EventOutcome.SUCCEEDED,
    EventType.AGENT_FLOAT_UPDATED: EventOutcome.UPDATED,
}
OUTCOME = {str(t): str(o) for t, o in _OUTCOME.items()}  # (plain strings: looked up per event)
_FLOAT = str(EventType.AGENT_FLOAT_UPDATED)


class Entry(msgspec.Struct, gc=False):
    """One event as the feed shows it: the contract's fields a viewer of the scope may see
    (no `cost`, no metadata), money as decimal strings, `status` from the type."""

    id: str
    type: str
    source: str
    occurred_at: object  # aware UTC datetime -> RFC 3339 "...Z"
    amount: object  # Decimal | None
    currency: str
    fee: object
    balance: object  # agent.float_updated: the float after the event
    merchant: str | None
    agent: str | None
    bank: str | None
    country: str
    city: str
    status: str


_encode_lines = msgspec.json.Encoder(decimal_format="string").encode_lines
_by_time = attrgetter("occurred_at")

# KEYS: one stream per scope. ARGV: maxlen, ttl, then for each key its number of
# entries followed by the entries (oldest first). Appends and trims each stream and
# renews its expiry; returns the number of entries appended.
_APPEND_LUA = """
local maxlen, ttl, i = ARGV[1], ARGV[2], 3
for k = 1, #KEYS do
  local n = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    redis.call('XADD', KEYS[k], 'MAXLEN', '~', maxlen, '*', 'e', ARGV[i])
    i = i + 1
  end
  redis.call('EXPIRE', KEYS[k], ttl)
end
return i - 3 - #KEYS
"""

_writer = None
_reader = None
_paused_until = 0.0
_queue = None
_queue_lock = threading.Lock()


def _prefix():
    return settings.CACHES["default"].get("KEY_PREFIX") or "molam"


def feed_key(scope):
    """The Redis stream of a scope (its text: platform, merchant:ID, ..., region:CC)."""
    return f"{_prefix()}:feed:v1:{scope}"


def _writer_client():
    """Short timeouts and no retries (redis-py retries 10 times by default): a slow or
    absent Redis must not hold a batch up."""
    global _writer
    if _writer is None:
        _writer = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=0.25,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
    return _writer


def feed_fan_out(events):
    """Counted events -> {scope text: its newest FEED_PER_BATCH events, oldest first}.

    The scopes ingestion counts an event in (dashboard/ingest/services.py
    `_pre_aggregate` and its dirty spans): platform, merchant, agent and bank of
    each id it carries, and region:<country>; an agent's float update counts in
    platform, its agent and its region only. One pass, no per-event calls: this
    runs for every counted event."""
    events = list(events)
    merchants, agents, banks, regions = (defaultdict(list) for _ in range(4))
    for e in events:
        if e.type != _FLOAT:
            if e.merchant_id is not None:
                merchants[e.merchant_id].append(e)
            if e.bank_id is not None:
                banks[e.bank_id].append(e)
        if e.agent_id is not None:
            agents[e.agent_id].append(e)
        regions[e.country].append(e)
    groups = {"platform": events} if events else {}
    for kind, by_id in (("merchant", merchants), ("agent", agents), ("bank", banks),
                        ("region", regions)):  # fmt: skip
        for ident, group in by_id.items():
            groups[f"{kind}:{ident}"] = group
    n = FEED_PER_BATCH
    for scope, group in groups.items():
        if len(group) > n:
            group = nlargest(n, group, key=_by_time)  # newest first, arrival order on ties
            group.reverse()
        else:
            group = sorted(group, key=_by_time)
        groups[scope] = group
    return groups


def _entries(events):
    """{id(event): entry bytes} of `events`, encoded in one call."""
    outcome = OUTCOME
    items = [
        Entry(e.event_id, e.type, e.source, e.occurred_at, e.amount, e.currency, e.fee,
              e.balance, e.merchant_id, e.agent_id, e.bank_id, e.country, e.city,
              outcome[e.type])
        for e in events
    ]  # fmt: skip
    lines = _encode_lines(items).split(b"\n")  # (JSON escapes newlines inside strings)
    return {id(e): line for e, line in zip(events, lines, strict=False)}


def feed_append(events):
    """Queue a committed batch's counted events (in arrival order; the last
    FEED_BATCH_WINDOW of them) for the feed of every scope they count in.

    Best effort, and never in the batch's way: builds the entries here and hands
    them to this process's sender thread, which does the one Redis round trip.
    Returns the number of entries queued (0 when skipped) and never raises."""
    if time.monotonic() < _paused_until:
        FEED_SKIPPED.inc()
        return 0
    try:
        if len(events) > FEED_BATCH_WINDOW:
            # The last ones read (a slice: choosing the newest by time would cost
            # more than the whole feed).
            FEED_LEFT_OUT.inc(len(events) - FEED_BATCH_WINDOW)
            events = events[-FEED_BATCH_WINDOW:]
        groups = feed_fan_out(events)
        if not groups:
            return 0
        chosen = {id(e): e for group in groups.values() for e in group}
        payload = _entries(list(chosen.values()))
        keys, args = [], [FEED_MAXLEN, FEED_TTL_S]
        for scope, group in groups.items():
            keys.append(feed_key(scope))
            args.append(len(group))
            args.extend(payload[id(e)] for e in group)
        _sender_queue().put_nowait((keys, args))
    except queue.Full:
        # Redis is slower than the ingestion: this batch's entries are dropped.
        FEED_SKIPPED.inc()
        return 0
    except Exception:
        FEED_ERRORS.inc()
        log.exception("live feed not built for a batch of %d events", len(events))
        return 0
    return len(args) - 2 - len(keys)


def _sender_queue():
    """This process's queue of feed writes, and its sender thread (started on first use;
    worker processes are spawned, so each starts its own)."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.Queue(maxsize=FEED_QUEUE)
            threading.Thread(
                target=_send_forever, args=(_queue,), name="feed-sender", daemon=True
            ).start()
            atexit.register(feed_flush)
    return _queue


def _send_forever(q):
    """(sender thread) One Lua call per queued batch; a failure pauses the feed."""
    global _paused_until
    while True:
        keys, args = q.get()
        try:
            if time.monotonic() < _paused_until:
                FEED_SKIPPED.inc()
                continue
            FEED_ENTRIES.inc(_writer_client().eval(_APPEND_LUA, len(keys), *keys, *args))
        except Exception:
            # Redis down or refusing (OOM, read-only replica...): the batch is counted
            # in PostgreSQL all the same; the feed misses it.
            _paused_until = time.monotonic() + FEED_PAUSE_AFTER_ERROR_S
            FEED_ERRORS.inc()
            log.warning("live feed not written for a batch", exc_info=True)
        finally:
            q.task_done()


def feed_flush(timeout=5.0):
    """Wait (at most `timeout` s) until this process's queued feed writes are done; True
    if they are. Run at exit, so a stopping consumer's last batches reach the feed."""
    q = _queue
    if q is None:
        return True
    deadline = time.monotonic() + timeout
    with q.all_tasks_done:
        while q.unfinished_tasks:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            q.all_tasks_done.wait(left)
    return True


def feed_forget(scope_pattern):
    """Delete the feeds of the scopes matching a glob (`merchant:m_b1a2_*`); returns how many."""
    client = _writer_client()
    keys = list(client.scan_iter(feed_key(scope_pattern), count=1000))
    return client.delete(*keys) if keys else 0


# ---------------------------------------------------------------- reader (web)
def _reader_client():
    """The web's client: its blocking reads wait up to STREAM_HEARTBEAT_S, so the socket
    timeout is longer than that; one retry at most (a stream that fails ends, and the
    browser reconnects)."""
    global _reader
    if _reader is None:
        _reader = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=0.5,
            socket_timeout=settings.STREAM_HEARTBEAT_S + 5,
            retry=Retry(NoBackoff(), 1),
        )
    return _reader


def _pairs(raw):
    """[(id bytes, fields)] -> [(id str, entry bytes)]."""
    return [(entry_id.decode(), fields[b"e"]) for entry_id, fields in raw if b"e" in fields]


def feed_latest(scope, count=FEED_PER_BATCH):
    """The newest `count` entries of a scope, oldest first: [(entry id, entry JSON bytes)]."""
    raw = _reader_client().xrevrange(feed_key(scope), count=count)
    return _pairs(reversed(raw))


def feed_after(scope, last_id, count=FEED_MAXLEN):
    """The entries after `last_id` (exclusive), oldest first, at most `count`."""
    return _pairs(_reader_client().xrange(feed_key(scope), min=f"({last_id}", count=count))


def feed_wait(scope, last_id, timeout_s, count=FEED_PER_BATCH):
    """Entries after `last_id`, waiting up to `timeout_s` for the first (XREAD BLOCK)."""
    got = _reader_client().xread(
        {feed_key(scope): last_id}, count=count, block=max(1, int(timeout_s * 1000))
    )
    return _pairs(got[0][1]) if got else []
