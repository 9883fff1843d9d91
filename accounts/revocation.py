"""Revoking a user's JWTs: every outstanding refresh token blacklisted, and the overview's
per-process token cache told to forget what it checked (the "auth epoch").

Access tokens are not stored: they are refused because every authenticated request reads
the user from the database (simplejwt's JWTAuthentication refuses an inactive user) and
the one cache of checked tokens (dashboard/api/views.py, the overview fast path) compares
the auth epoch kept in Redis on every hit: a deactivation changes it, so every web process
drops its cached tokens on its next request.
"""

import logging
import uuid

from django.core.cache import cache
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

log = logging.getLogger(__name__)

AUTH_EPOCH_KEY = "accounts:auth-epoch"


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
    """The current auth epoch, or None when Redis cannot be read (then trust no cache)."""
    try:
        return cache.get(AUTH_EPOCH_KEY, "0")
    except Exception:  # a cache outage must fail closed, not 500
        log.warning("auth epoch unreadable: cached tokens are not trusted", exc_info=True)
        return None


def auth_epoch_bump():
    """Change the auth epoch: every process's cache of checked tokens becomes stale."""
    try:
        cache.set(AUTH_EPOCH_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the caches still expire by themselves within seconds
        log.error("auth epoch not bumped: cached tokens live out their few seconds", exc_info=True)


def expired_tokens_flush():
    """Delete outstanding (and so blacklisted) refresh tokens past their expiry: a token
    that expired is refused anyway, and the tables would otherwise grow for ever."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
