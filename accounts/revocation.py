"""Revoking a user's JWTs: every outstanding refresh token blacklisted, and every copy of a
checked identity made void (the "auth epoch").

Access tokens are not stored: they are refused because every authenticated request reads
the user from the database (simplejwt's JWTAuthentication refuses an inactive user) or,
on the dashboard reads, from a copy of that check in Redis (dashboard/api/identity.py)
that is trusted only under the auth epoch it was written with. A deactivation changes the
epoch in Redis when it commits, and every request reads the epoch with the copy (one
MGET), so a deactivated user is refused from the next request on, in every process.
"""

import logging
import uuid

from django.core.cache import cache
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.redis_mirror import mirror

log = logging.getLogger(__name__)

AUTH_EPOCH_KEY = "accounts:auth-epoch"
EPOCH_UNSET = "0"  # the epoch before the first bump (or after Redis lost it: copies too)


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


def auth_epoch_bump():
    """Change the auth epoch: every identity copy made before becomes void, everywhere."""
    try:
        cache.set(AUTH_EPOCH_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the copies still age out within OVERVIEW_AUTH_CACHE_S
        log.error("auth epoch not bumped: identity copies live out their seconds", exc_info=True)
    # This process sees the new epoch at once; the others when Redis notifies their mirror.
    mirror.forget(cache.make_key(AUTH_EPOCH_KEY))


def expired_tokens_flush():
    """Delete outstanding (and so blacklisted) refresh tokens past their expiry: a token
    that expired is refused anyway, and the tables would otherwise grow for ever."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
