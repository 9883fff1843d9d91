"""Cache of widget data: per (widget, scope, period window), dropped when snapshots refresh.

Invalidation without scanning keys: each scope has a generation number in Redis that the
snapshot refresh of that scope bumps (dashboard/snapshots/refresh.py); the generation
is part of every data key of the scope, so a refresh makes the old entries unreachable
and their TTL removes them. The window (hour-aligned, like the endpoints') is in the key
too, so a new hour never serves the last hour's figures.
"""

import logging

from django.conf import settings

from dashboard.snapshots import cache as snapshot_cache

logger = logging.getLogger(__name__)


def _prefix():
    return settings.CACHES["default"].get("KEY_PREFIX") or "molam"


def generation_key(scope_text):
    return f"{_prefix()}:widgets:gen:{scope_text}"


def data_key(parts, generation):
    return f"{_prefix()}:widgets:data:v1:{':'.join(parts)}:g{generation}"


def generation(scope_text):
    """The scope's current generation (0 when none was recorded)."""
    value = snapshot_cache.client().get(generation_key(scope_text))
    return int(value) if value else 0


def bump_generations(scope_texts):
    """After a refresh of these scopes: every cached widget datum of them is out of date."""
    pipe = snapshot_cache.client().pipeline(transaction=False)
    for scope_text in scope_texts:
        pipe.incr(generation_key(scope_text))
    pipe.execute()


def fetch_or_compute(parts, scope_text, compute):
    """The cached bytes of `parts` for the scope's generation, else `compute()` stored.

    Redis down: computed every time (the endpoints behind still answer).
    """
    try:
        client = snapshot_cache.client()
        gen = generation(scope_text)
        key = data_key(parts, gen)
        hit = client.get(key)
        if hit is not None:
            return hit
    except Exception:  # noqa: BLE001 - Redis down: compute
        return compute()
    body = compute()
    try:
        client.set(key, body, ex=settings.WIDGET_DATA_CACHE_S)
    except Exception:  # noqa: BLE001
        logger.warning("could not cache widget data %s", key)
    return body
