"""The overview's authentication while the database cannot be reached.

The JWT's signature and expiry need no database; its user's active flag, scope
and permissions do. Each successful check (dashboard/api/views.py) copies those
facts to Redis, stamped with the auth epoch (accounts/revocation.py); during a
database outage the copy stands in for the user, only if:

- it is younger than OUTAGE_AUTH_CACHE_S (default 900 s: the longest outage
  during which a user keeps its overview without a fresh check);
- the auth epoch has not changed since it was written: a deactivation bumps the
  epoch when it commits, so a deactivated user is never served from a copy
  (the per-process token cache of OVERVIEW_AUTH_CACHE_S seconds aside, which
  compares the same epoch);
- the user was not saved since (scope, role, permissions): any save drops the
  copy when it commits, in every process that loaded this module (the web
  processes, where the admin and the API change users); elsewhere the age bound holds.

A user without a usable copy gets 503 (the database error goes up to common/middleware.py).
"""

import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.revocation import auth_epoch

logger = logging.getLogger(__name__)


def _key(user_id):
    return f"auth:identity:v1:{user_id}"


def _ttl():
    return getattr(settings, "OUTAGE_AUTH_CACHE_S", 900)


class CachedIdentity:
    """Just what scope resolution (accounts.scope) reads of a user."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, data):
        self.pk = self.id = data["id"]
        self.is_active = bool(data["active"])
        self.is_superuser = bool(data["superuser"])
        self.scope_kind = data["scope_kind"]
        self.scope_id = data["scope_id"]
        self._perms = frozenset(data["perms"])

    def has_perm(self, perm, obj=None):
        return self.is_active and (self.is_superuser or perm in self._perms)


def identity_remember(user, epoch):
    """Copy `user`'s scope facts to Redis (best effort: the database answered)."""
    ttl = _ttl()
    if not ttl or epoch is None or not user.is_active:
        return
    data = {
        "id": user.pk,
        "epoch": epoch,
        "active": user.is_active,
        "superuser": user.is_superuser,
        "scope_kind": user.scope_kind,
        "scope_id": user.scope_id,
        "perms": sorted(user.get_all_permissions()),
    }
    try:
        cache.set(_key(user.pk), json.dumps(data), ttl)
    except Exception:  # noqa: BLE001 - only a fallback
        logger.warning("could not copy the identity of user %s", user.pk)


def identity_recall(user_id):
    """The copied identity of `user_id`, or None (none, expired, dropped, epoch moved,
    Redis down)."""
    if user_id is None:
        return None
    try:
        raw = cache.get(_key(user_id))
    except Exception:  # noqa: BLE001
        return None
    epoch = auth_epoch()
    if raw is None or epoch is None:
        return None
    data = json.loads(raw)
    if data.get("epoch") != epoch or not data.get("active"):
        return None
    return CachedIdentity(data)


def identity_forget(user_id):
    if user_id is None:
        return
    try:
        cache.delete(_key(user_id))
    except Exception:  # noqa: BLE001
        logger.warning("could not drop the identity copy of user %s", user_id)


def _on_user_change(sender, instance, **kwargs):
    user_id = instance.pk
    transaction.on_commit(lambda: identity_forget(user_id))


post_save.connect(_on_user_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity-copy")
post_delete.connect(
    _on_user_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity-copy-delete"
)
