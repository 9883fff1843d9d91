"""A per-process mirror of chosen Redis keys, dropped by Redis's own change notifications.

Why: the API's hot reads (the overview's bytes, the caller's identity copy and
the auth epoch, a time series' cached answer) are Redis values that change a
few times a minute but are read hundreds of times a second. One Redis round
trip per request cost more CPU than the rest of the request. The mirror keeps
the values this process read, and a background thread subscribed to Redis's
keyspace notifications drops a key the moment Redis reports it written,
deleted, expired or evicted; keys that are not worth a notification each
(the time-series generations, thousands per ingestion batch) are dropped by
one message on INVALIDATE_CHANNEL listing them.

Correctness rules:
- A value is served from the mirror only while the subscription is live
  (confirmed, and answered a ping within PING_DEADLINE_S); on any doubt
  (disconnect, missed pong, fork) the mirror is emptied and every read goes to
  Redis until the subscription is confirmed again.
- A read stores what it fetched only if no notification for that key arrived
  while it was fetching (a version per key being fetched), and nothing emptied
  the mirror meanwhile: a write between the fetch and the store can never leave
  an older value behind. (A notification for another key does not stop it: under
  load, one arrives during almost every fetch.)
- Absent keys are mirrored as absent (a notification comes when one is set).
- Each value lives at most MAX_AGE_S, and the mirror holds at most MAX_ENTRIES keys
  and MAX_BYTES of values (past either, it starts over).

A write is seen by other processes when their thread receives its
notification (well under a millisecond on an idle machine, a few under load);
a process that writes a mirrored key itself drops its own copy at once
(`forget`). Keyspace notifications must be on (K, $ for strings, g for
DEL/EXPIRE, x expired, e evicted): the thread switches them on with CONFIG SET
if it may, else the mirror stays off (every read goes to Redis).

Off when settings.REDIS_MIRROR is false (the test suite's default: its tests
write and read Redis in one thread; tests/common/test_redis_mirror.py tests the
mirror itself).
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings
from prometheus_client import Counter

log = logging.getLogger(__name__)

MAX_AGE_S = 300.0
MAX_ENTRIES = 20000
MAX_BYTES = 64 * 1024 * 1024  # per process: some 5,000 overview documents
PING_EVERY_S = 1.0
PING_DEADLINE_S = 3.0
RETRY_AFTER_S = 1.0
NEEDED_FLAGS = "K$gxe"

READS = Counter(
    "redis_mirror_reads",
    "Reads through the Redis mirror: answered locally, with a round trip for what it did "
    "not hold, or straight from Redis (mirror off or not subscribed).",
    ["result"],
)
_LOCAL, _FETCHED, _DIRECT = (READS.labels(r) for r in ("local", "fetched", "direct"))


def invalidate_channel():
    prefix = settings.CACHES["default"].get("KEY_PREFIX") or "molam"
    return f"{prefix}:mirror:invalidate"


class Mirror:
    """Values of watched keys (by prefix), kept while Redis says nothing changed them."""

    def __init__(self):
        self._prefixes = []
        self._notified = []  # the prefixes whose keyspace notifications we subscribe to
        self._lock = threading.Lock()
        self._entries = {}
        self._stored_bytes = 0  # of the values it holds
        self._seq = 0  # notifications received (and forgets): tests wait on it
        # key being fetched -> [version, fetchers]: a notification for the key bumps its
        # version, so a fetch that began before it does not store what it read.
        self._inflight = {}
        self._resets = 0  # times every key was dropped at once
        self._live = False
        self._last_pong = 0.0
        self._pid = None
        self._thread = None
        self._off_reason = None
        self._client = None

    # ------------------------------------------------------------ configuration

    def watch(self, prefix, *, keyspace=True):
        """Mirror the keys starting with `prefix` (called at import by their owners).

        `keyspace=False`: their writers publish on INVALIDATE_CHANNEL instead (keys written
        by the thousand, where one message per key would cost every process)."""
        if prefix not in self._prefixes:
            self._prefixes.append(prefix)
            if keyspace:
                self._notified.append(prefix)

    def watched(self, key):
        return any(key.startswith(p) for p in self._prefixes)

    def enabled(self):
        return bool(getattr(settings, "REDIS_MIRROR", True)) and self._off_reason is None

    # ------------------------------------------------------------ reads

    def mget(self, client, keys):
        """Values of `keys` (bytes or None), from the mirror where it may answer, the rest in
        one MGET through `client`; raises what the MGET raises."""
        if not self.enabled():
            _DIRECT.inc()
            return client.mget(*keys)
        self._ensure_thread()
        now = time.monotonic()
        live = self._live and now - self._last_pong < PING_DEADLINE_S
        if not live:
            _DIRECT.inc()
            return client.mget(*keys)
        entries = self._entries
        values = [None] * len(keys)
        missing = []
        for i, key in enumerate(keys):
            entry = entries.get(key)
            if entry is None or entry[1] < now:
                missing.append(i)
            else:
                values[i] = entry[0]
        if not missing:
            _LOCAL.inc()
            return values
        _FETCHED.inc()
        wanted = [keys[i] for i in missing]
        with self._lock:
            resets = self._resets
            versions = [self._fetch_begins(key) for key in wanted]
        fetched = None
        try:
            fetched = client.mget(*wanted)
        finally:
            with self._lock:
                # Per key: stored only if no notification for it came during the fetch.
                unchanged = [self._fetch_ends(k, v) for k, v in zip(wanted, versions, strict=True)]
                if fetched is not None:
                    self._store(wanted, fetched, unchanged, self._live and self._resets == resets,
                                now + MAX_AGE_S)  # fmt: skip
        for i, value in zip(missing, fetched, strict=True):
            values[i] = value
        return values

    def _fetch_begins(self, key):
        """(under the lock) The key's version as a fetch of it begins."""
        slot = self._inflight.get(key)
        if slot is None:
            slot = self._inflight[key] = [0, 0]
        slot[1] += 1
        return slot[0]

    def _fetch_ends(self, key, version):
        """(under the lock) Whether no notification for `key` came since `version`."""
        slot = self._inflight.get(key)
        if slot is None:  # (emptied by a fork meanwhile)
            return False
        slot[1] -= 1
        if slot[1] == 0:
            del self._inflight[key]
        return slot[0] == version

    def _store(self, keys, values, unchanged, live, expires):
        """(under the lock) Keep the fetched values that are still current."""
        if not live:
            return
        size = sum(len(v) for v in values if v)
        if len(self._entries) + len(keys) > MAX_ENTRIES or self._stored_bytes + size > MAX_BYTES:
            self._empty()
        for key, value, current in zip(keys, values, unchanged, strict=True):
            if current and self.watched(key):
                self._drop(key)
                self._entries[key] = (value, expires)
                self._stored_bytes += len(value or b"")

    def forget(self, *keys):
        """Drop this process's copies of `keys` (a write by this process, seen at once)."""
        with self._lock:
            for key in keys:
                self._invalidate(key)
            self._seq += 1

    def clear(self):
        with self._lock:
            self._empty()
            self._resets += 1
            self._seq += 1

    def _drop(self, key):
        """(under the lock) Forget one key."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._stored_bytes -= len(entry[0] or b"")

    def _invalidate(self, key):
        """(under the lock) The key changed: forget it, and void fetches of it under way."""
        self._drop(key)
        slot = self._inflight.get(key)
        if slot is not None:
            slot[0] += 1

    def _empty(self):
        """(under the lock) Forget every key."""
        self._entries.clear()
        self._stored_bytes = 0

    def stats(self):
        return {"entries": len(self._entries), "live": self._live, "off": self._off_reason}

    # ------------------------------------------------------------ the subscriber

    def _ensure_thread(self):
        pid = os.getpid()
        if self._pid == pid and self._thread is not None:
            return
        with self._lock:
            if self._pid == pid and self._thread is not None:
                return
            # A fork copies the parent's entries but not its thread: start over.
            self._empty()
            self._inflight = {}
            self._resets += 1
            self._seq += 1
            self._live = False
            self._pid = pid
            self._thread = threading.Thread(target=self._run, name="redis-mirror", daemon=True)
            self._thread.start()

    def _go_dark(self):
        with self._lock:
            self._live = False
            self._empty()
            self._resets += 1
            self._seq += 1

    def _run(self):
        while self._pid == os.getpid() and self._off_reason is None:
            try:
                self._subscribe_and_listen()
            except Exception:  # noqa: BLE001 - any doubt: serve nothing, reconnect
                log.warning("redis mirror: subscription lost; reads go to Redis", exc_info=True)
            self._go_dark()
            time.sleep(RETRY_AFTER_S)

    def _notifications_on(self, client):
        flags = client.config_get("notify-keyspace-events").get("notify-keyspace-events", "")
        have = set(flags)
        if "A" in have:
            have |= set("g$lshzxetd")
        if set(NEEDED_FLAGS) <= have:
            return True
        wanted = "".join(sorted(have | set(NEEDED_FLAGS)))
        try:
            client.config_set("notify-keyspace-events", wanted)
        except redis.RedisError as exc:
            self._off_reason = f"keyspace notifications are off and cannot be set: {exc}"
            log.warning("redis mirror off: %s", self._off_reason)
            return False
        return True

    def _subscribe_and_listen(self):
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=PING_DEADLINE_S
        )
        try:
            if not self._notifications_on(client):
                return
            db = client.connection_pool.connection_kwargs.get("db", 0)
            channel_prefix = f"__keyspace@{db}__:"
            pubsub = client.pubsub()
            patterns = [f"{channel_prefix}{p}*" for p in self._notified]
            pubsub.psubscribe(*patterns)
            pubsub.subscribe(invalidate_channel())
            pending = len(patterns) + 1
            self._listen(pubsub, channel_prefix.encode(), pending)
        finally:
            client.close()

    def _listen(self, pubsub, channel_prefix, pending):
        cut = len(channel_prefix)
        last_ping = 0.0
        self._last_pong = time.monotonic()
        while self._pid == os.getpid():
            now = time.monotonic()
            if now - self._last_pong > PING_DEADLINE_S:
                raise ConnectionError("no answer to the mirror's ping")
            if now - last_ping >= PING_EVERY_S:
                pubsub.ping()
                last_ping = now
            message = pubsub.get_message(timeout=PING_EVERY_S)
            if message is None:
                continue
            kind = message["type"]
            if kind == "pmessage":
                key = message["channel"][cut:].decode()
                with self._lock:
                    self._invalidate(key)
                    self._seq += 1
            elif kind == "message":
                keys = message["data"].decode().split("\n")
                with self._lock:
                    for key in keys:
                        self._invalidate(key)
                    self._seq += 1
            elif kind == "pong":
                self._last_pong = time.monotonic()
            elif kind in ("psubscribe", "subscribe"):
                pending -= 1
                if pending == 0:  # every notification from now on reaches us
                    with self._lock:
                        self._empty()
                        self._resets += 1
                        self._seq += 1
                        self._live = True
                    self._last_pong = time.monotonic()


mirror = Mirror()


def publish_invalidation(pipe_or_client, keys):
    """Tell every process's mirror to drop `keys` (keys written without a notification of
    their own): one message on INVALIDATE_CHANNEL, through a pipeline or a client."""
    if keys:
        pipe_or_client.publish(invalidate_channel(), "\n".join(keys))
