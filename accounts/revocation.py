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
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.redis_mirror import mirror

log = logging.getLogger(__name__)

AUTH_EPOCH_KEY = "accounts:auth-epoch"
AUTH_CHANGES_SEEN_KEY = "accounts:auth-changes-seen"
AUTH_CHANGES_KEEP_DAYS = 1
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


def auth_changes_check():
    """Void every identity copy if the rows of `accounts_auth_change` changed since the last
    check (accounts/migrations/0003_auth_changes.py: triggers write one per statement that
    changes a user's watched columns, groups or permissions, or a group's permissions, so
    also the changes no signal reports). Returns whether the epoch was bumped.

    Count and highest id together: a transaction that commits after a later one took a
    higher id still changes the count. First check (or the mark lost): bumps."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(max(id), 0) FROM accounts_auth_change")
        count, top = cur.fetchone()
    mark = f"{count}:{top}"
    if cache.get(AUTH_CHANGES_SEEN_KEY) == mark:
        return False
    auth_epoch_bump()
    cache.set(AUTH_CHANGES_SEEN_KEY, mark, timeout=None)
    return True


def auth_changes_prune():
    """Delete change rows older than AUTH_CHANGES_KEEP_DAYS (the next check then bumps the
    epoch once: the count changed)."""
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM accounts_auth_change WHERE at < now() - make_interval(days => %s)",
            [AUTH_CHANGES_KEEP_DAYS],
        )
        return cur.rowcount
