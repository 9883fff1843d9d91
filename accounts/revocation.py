"""Revoking a user's JWTs: every outstanding refresh token blacklisted, and the overview's
per-process token cache told to forget what it checked (the "auth epoch").

Access tokens are not stored: they are refused because every authenticated request reads
the user from the database (simplejwt's JWTAuthentication refuses an inactive user) and
the one cache of checked tokens (dashboard/api/views.py, the overview fast path) compares
the auth epoch on every hit: a deactivation changes it in Redis, so the process that
deactivated drops its cached tokens at once and every other web process within
OVERVIEW_AUTH_EPOCH_S (how long a process keeps the epoch it read: a Redis round trip per
overview request would cost more than the rest of the request).
"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

log = logging.getLogger(__name__)

AUTH_EPOCH_KEY = "accounts:auth-epoch"
# This process's copy of the epoch: [value, read until (monotonic seconds)].
_epoch = [None, 0.0]


def refresh_tokens_revoke(*, user):
    """Blacklist every unexpired refresh token issued to `user`; returns how many were new.

    Runs in the caller's transaction (the deactivation's own), so a rolled-back
    deactivation revokes nothing."""
    pending = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    rows = [BlacklistedToken(token=t) for t in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def auth_epoch():
    """The auth epoch (this process's copy, read from Redis at most every
    OVERVIEW_AUTH_EPOCH_S), or None when Redis cannot be read: then trust no cache."""
    now = time.monotonic()
    value, until = _epoch
    if until > now:
        return value
    try:
        value = cache.get(AUTH_EPOCH_KEY, "0")
    except Exception:  # a cache outage must fail closed, not 500
        log.warning("auth epoch unreadable: cached tokens are not trusted", exc_info=True)
        _epoch[1] = 0.0
        return None
    _epoch[:] = [value, now + settings.OVERVIEW_AUTH_EPOCH_S]
    return value


def auth_epoch_bump():
    """Change the auth epoch: every process's cache of checked tokens becomes stale (this
    process's at once, the others' once their copy of the epoch expires)."""
    try:
        cache.set(AUTH_EPOCH_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the caches still expire by themselves within seconds
        log.error("auth epoch not bumped: cached tokens live out their few seconds", exc_info=True)
    _epoch[1] = 0.0  # after the write: a read in between must not keep the old epoch


def expired_tokens_flush():
    """Delete outstanding (and so blacklisted) refresh tokens past their expiry: a token
    that expired is refused anyway, and the tables would otherwise grow for ever."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
