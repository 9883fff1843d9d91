"""Liveness of the event consumers: each consumer process publishes a heartbeat to Redis.

A consumer calls `Heartbeat.beat(...)` from its poll loop; the heartbeat is a
Redis key `molam:ingest:consumer:<group>:<host>:<pid>` holding a JSON document
(partitions, lag, last offset commit, worker pids, state) with a TTL, so a
consumer that dies (even by SIGKILL) disappears from `consumers()` within the
TTL. The health check `ingestion` (dashboard/health.py) reads them.

Publishing never raises into the consumer: with Redis down, a heartbeat is
skipped (debug log) and retried a few seconds later.
"""

import json
import logging
import os
import socket
import time

import redis
from django.conf import settings

log = logging.getLogger("dashboard.ingest.heartbeat")

KEY_PREFIX = "molam:ingest:consumer:"
INDEX_PREFIX = "molam:ingest:consumers:"
INDEX_TTL_S = 24 * 3600  # an index no consumer wrote to for a day goes
# Seconds between two writes (a `beat` in between is a no-op unless forced).
INTERVAL_S = 2.0
# After a failed write, wait this long at most before the next attempt.
MAX_BACKOFF_S = 10.0


def ttl_s():
    """Lifetime of a heartbeat key: a consumer silent this long counts as gone."""
    return settings.INGEST_HEARTBEAT_TTL_S


def _client():
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)


def key_for(group, host, pid):
    return f"{KEY_PREFIX}{group}:{host}:{pid}"


def index_for(group):
    """A sorted set per group: heartbeat key -> time of its last write. Readers go through
    it rather than SCAN the whole keyspace (the cache shares this Redis)."""
    return f"{INDEX_PREFIX}{group}"


def write(doc, *, client=None):
    """Store one heartbeat document (with its TTL) and index it under its group."""
    r = client or _client()
    key = key_for(doc["group"], doc["host"], doc["pid"])
    pipe = r.pipeline(transaction=False)
    pipe.set(key, json.dumps(doc), ex=ttl_s())
    pipe.zadd(index_for(doc["group"]), {key: doc["heartbeat_at"]})
    pipe.expire(index_for(doc["group"]), INDEX_TTL_S)
    pipe.execute()


class Heartbeat:
    """The heartbeat of one consumer process (one per `EventConsumer`)."""

    def __init__(self, *, group: str, topics: list[str]):
        self.group = group
        self.topics = list(topics)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = time.time()
        self.key = key_for(group, self.host, self.pid)
        self._redis = None
        self._next_at = 0.0  # monotonic time of the next write
        self._failures = 0
        self._last_state = None

    def _conn(self):
        if self._redis is None:
            self._redis = _client()
        return self._redis

    def beat(
        self,
        *,
        assigned: set[tuple[str, int]],
        lag: dict[str, int] | None,
        last_commit_at: float | None,
        workers: list[int],
        state: str = "running",
        force: bool = False,
    ) -> bool:
        """Publish the heartbeat (at most every INTERVAL_S unless `force` or the state
        changed). Returns True when written; never raises."""
        now = time.monotonic()
        if not force and state == self._last_state and now < self._next_at:
            return False
        doc = {
            "group": self.group,
            "host": self.host,
            "pid": self.pid,
            "topics": self.topics,
            "assigned": sorted(f"{t}:{p}" for t, p in assigned),
            "lag": dict(lag) if lag is not None else None,
            "last_commit_at": last_commit_at,
            "heartbeat_at": time.time(),
            "workers": sorted(int(w) for w in workers),
            "state": state,
            "started_at": self.started_at,
        }
        try:
            write(doc, client=self._conn())
        except Exception as exc:  # noqa: BLE001 - liveness reporting must not stop ingestion
            self._failures += 1
            backoff = min(MAX_BACKOFF_S, INTERVAL_S * 2 ** min(self._failures, 4))
            self._next_at = now + backoff
            log.debug("heartbeat %s not written (%s); next try in %.0f s", self.key, exc, backoff)
            return False
        self._failures = 0
        self._last_state = state
        self._next_at = now + INTERVAL_S
        return True

    def stop(self) -> None:
        """Remove the heartbeat (a clean exit is seen at once, not after the TTL)."""
        try:
            pipe = self._conn().pipeline(transaction=False)
            pipe.delete(self.key)
            pipe.zrem(index_for(self.group), self.key)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            log.debug("heartbeat %s not removed (%s)", self.key, exc)


def consumers(group: str | None = None, *, client=None) -> list[dict]:
    """The live consumers' heartbeats (of `group`, or all), each with `age_s` added,
    sorted by host and pid. Raises on Redis errors (the health check reports them)."""
    r = client or _client()
    now = time.time()
    if group is None:  # every group: a SCAN of the keyspace (tools, not the health check)
        keys = sorted(r.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    else:
        index = index_for(group)
        r.zremrangebyscore(index, "-inf", now - ttl_s())  # expired keys of dead consumers
        keys = sorted(r.zrange(index, 0, -1))
    if not keys:
        return []
    found = []
    for key, raw in zip(keys, r.mget(keys), strict=True):
        if raw is None:  # expired (or removed) meanwhile
            if group is not None:
                r.zrem(index_for(group), key)
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            log.warning("unreadable heartbeat %r", key)
            continue
        if group is not None and doc.get("group") != group:
            continue
        doc["age_s"] = round(now - float(doc.get("heartbeat_at") or 0), 1)
        found.append(doc)
    found.sort(key=lambda d: (str(d.get("host")), int(d.get("pid") or 0)))
    return found
