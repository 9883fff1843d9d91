"""Time-series answers kept in Redis, and still exact: each carries its scope's generation.

A time series reads the aggregates exactly (dashboard/snapshots/sql.py): about
4 ms of PostgreSQL and Python per answer, while the same few hundred answers
are asked again and again. An answer is stored as `<generation>\\n<JSON bytes>`
under its normalized query (scope, metric, granularity, hour- or day-aligned
range, currency, source, geography). The generation is a token per scope that
ingestion replaces, right after the commit of every batch that changed the
scope's aggregates (`scopes_changed`, from apply_prepared's on_commit). A
stored answer is served only while its token is the scope's current one:

- a reader reads the token BEFORE its SQL and stores the answer under that
  token, so an answer computed before a commit is void from that commit's new
  token on, and one computed between a commit and its new token is discarded
  at the new token (merely recomputed);
- a scope without a token (never changed since Redis started, or evicted) gets
  one before the SQL, never after it.

What this does not see, and why it is bounded: a change committed whose new
token never reached Redis (the process killed between the two, Redis down at
that moment: the next batch retries the tokens it could not write), and writes
outside ingestion (a restore, retention dropping old buckets, bulk loads that
call `forget_all`). Every stored answer expires after SERIES_CACHE_S (120 s).

Reads inside a transaction (a test's, or a request's that wrote) may see
uncommitted rows: they are never cached. Tokens and answers are also mirrored
by each web process (common/redis_mirror.py): a cached answer usually costs no
round trip at all.
"""

import logging
import os
import time

from django.conf import settings
from django.db import connection
from prometheus_client import Counter
from rest_framework.renderers import JSONRenderer

from accounts.scope import Scope
from common.redis_mirror import mirror, publish_invalidation
from dashboard.snapshots import cache
from dashboard.snapshots.timeseries import series_payload

log = logging.getLogger(__name__)

ANSWERS = Counter(
    "dashboard_series_cache_answers",
    "Time-series answers: stored and current (hit), computed and stored (miss), computed "
    "without the store (uncached: off, in a transaction, Redis unreadable).",
    ["result"],
)
_HIT, _MISS, _UNCACHED = (ANSWERS.labels(r) for r in ("hit", "miss", "uncached"))
_renderer = JSONRenderer()
# Scopes whose new token could not be written after their batch's commit: the next
# batch (of this process) writes them too.
_unwritten = set()


def _gen_prefix():
    return f"{cache.key_prefix()}:series:gen:"


def _entry_prefix():
    return f"{cache.key_prefix()}:series:v1:"


def gen_key(scope_text):
    return f"{_gen_prefix()}{scope_text}"


def entry_key(q):
    geo = q.geo
    return (
        f"{_entry_prefix()}{q.scope}|{q.metric}|{q.granularity}|{int(q.frm.timestamp())}|"
        f"{int(q.to.timestamp())}|{q.currency or ''}|{q.source or ''}|"
        f"{geo.get('country', '')}|{geo.get('region', '')}|{geo.get('city', '')}"
    )


def _new_token():
    return f"{time.time_ns():x}.{os.getpid():x}.{os.urandom(4).hex()}".encode()


def _cacheable():
    return settings.SERIES_CACHE_S > 0 and not connection.in_atomic_block


def render(q):
    """The JSON bytes of a query's answer, computed now."""
    return _renderer.render(series_payload(q))


def series_body(q):
    """The JSON bytes of a query's answer: the stored answer if still current, else computed
    (and stored)."""
    if not _cacheable():
        _UNCACHED.inc()
        return render(q)
    client = cache.client()
    gkey, ekey = gen_key(str(q.scope)), entry_key(q)
    try:
        gen, entry = mirror.mget(client, [gkey, ekey])
        if gen is not None and entry is not None and entry.startswith(gen + b"\n"):
            _HIT.inc()
            return entry[len(gen) + 1 :]
        if gen is None:
            gen = _token_create(client, gkey)
    except Exception:  # noqa: BLE001 - Redis down: the database still answers
        log.warning("time-series cache unreadable: answering uncached", exc_info=True)
        _UNCACHED.inc()
        return render(q)
    _MISS.inc()
    body = render(q)
    try:
        client.set(ekey, gen + b"\n" + body, ex=settings.SERIES_CACHE_S)
        mirror.forget(ekey)
    except Exception:  # noqa: BLE001 - only a copy
        log.warning("could not store a time-series answer", exc_info=True)
    return body


def _token_create(client, gkey):
    """The scope's token, created if it has none (before the SQL it will vouch for)."""
    token = _new_token()
    pipe = client.pipeline(transaction=False)
    pipe.set(gkey, token, nx=True, get=True)
    publish_invalidation(pipe, [gkey])  # mirrors holding "no token" drop it
    existing, _ = pipe.execute()
    mirror.forget(gkey)
    return existing if existing is not None else token


def scopes_changed(scopes):
    """(after the commit of a batch that changed these scopes' aggregates) A new token for
    each of `scopes` ((kind, id) pairs): their stored answers are void from now on.

    Best effort: on a Redis failure the scopes are kept and written with the next call."""
    texts = {str(Scope(kind, ident)) for kind, ident in scopes} | _unwritten
    if not texts:
        return
    keys = [gen_key(t) for t in texts]
    token = _new_token()
    try:
        pipe = cache.client().pipeline(transaction=False)
        pipe.mset(dict.fromkeys(keys, token))
        publish_invalidation(pipe, keys)
        pipe.execute()
    except Exception:  # noqa: BLE001 - never fails the batch (it is committed)
        log.warning("time-series tokens of %d scopes not renewed yet", len(texts), exc_info=True)
        _unwritten.update(texts)
        return
    _unwritten.clear()
    mirror.forget(*keys)


def forget_all():
    """Drop every stored answer (after writes to the aggregates outside ingestion)."""
    client = cache.client()
    batch = []
    for key in client.scan_iter(f"{_entry_prefix()}*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
    mirror.clear()


# Mirrored by each process: answers through keyspace notifications, tokens through the
# invalidation messages above (one per batch, not one per scope).
mirror.watch(_entry_prefix())
mirror.watch(_gen_prefix(), keyspace=False)
