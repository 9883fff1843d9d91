"""What a JWT's user may read, kept in Redis: the API's reads authenticate without the database.

The JWT's signature and expiry need no database; its user's active flag, scope
and permissions do. Each database check (dashboard/api/authentication.py) copies
those facts to Redis, stamped with the auth epoch (accounts/revocation.py) and
the time of the check. Every request reads the epoch and the copy (from the
process's mirror of them, common/redis_mirror.py, else one MGET); the copy
stands in for the user only while:

- the auth epoch is the one it was written under: a deactivation, and any
  change of a role group's permissions or members, moves the epoch when it
  commits, so every copy is void from then on, in every process (as soon as
  Redis's notification of the new epoch reaches it: milliseconds);
- the user was not saved since (scope, role, permissions, groups): the save
  drops the copy when it commits (the signals below are connected in every
  process: dashboard/apps.py);
- no change reached the database that no signal reports (a bulk
  `QuerySet.update`, raw SQL, a restore): triggers record every statement that
  changes a user's watched columns, groups or permissions, or a group's
  permissions, and the beat task `accounts.tasks.check_auth_changes` moves the
  epoch within AUTH_CHANGES_CHECK_S (5 s) of its commit
  (accounts/migrations/0003_auth_changes.py, accounts/revocation.py);
- it is younger than OVERVIEW_AUTH_CACHE_S (60 s; 0: every request reads the
  database), the bound if beat or its worker stop; during a database outage,
  younger than OUTAGE_AUTH_CACHE_S (900 s: the longest outage during which a
  user keeps its overview without a fresh check).

Redis unreadable: no copy is trusted (the database decides). A user without a
usable copy during an outage gets 503 (the database error goes up to the DRF
exception handler, common/api.py).
"""

import json
import logging
import time

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache as django_cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from accounts.revocation import AUTH_EPOCH_KEY, auth_epoch_bump
from common.redis_mirror import mirror
from dashboard.snapshots import cache

logger = logging.getLogger(__name__)


def _key(user_id):
    return f"{cache.key_prefix()}:auth:identity:v2:{user_id}"


def _make_epoch_key():
    return django_cache.make_key(AUTH_EPOCH_KEY)


def _epoch_key():
    # Written through Django's cache (accounts/revocation.py): its stored bytes are
    # compared as they are, never decoded.
    return cache.from_settings("auth_epoch_key", _make_epoch_key)


def _epoch(raw):
    return raw.hex() if raw is not None else "unset"


def _ttl():
    return getattr(settings, "OUTAGE_AUTH_CACHE_S", 900)


class CachedIdentity:
    """Just what scope resolution (accounts.scope) reads of a user. Read-only: one parsed
    copy serves every request (and thread) of the process that reads the same bytes."""

    __slots__ = ("pk", "id", "username", "role", "is_active", "is_superuser", "scope_kind",
                 "scope_id", "_perms", "checked_at", "epoch")  # fmt: skip
    is_authenticated = True
    is_anonymous = False

    def __init__(self, data):
        fields = {
            "pk": data["id"],
            "id": data["id"],
            "username": data.get("username", ""),
            "role": data.get("role", ""),
            "is_active": bool(data["active"]),
            "is_superuser": bool(data["superuser"]),
            "scope_kind": data["scope_kind"],
            "scope_id": data["scope_id"],
            "_perms": frozenset(data["perms"]),
            "checked_at": float(data.get("checked_at", 0.0)),
            "epoch": data.get("epoch"),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"a cached identity is read-only (tried to set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"a cached identity is read-only (tried to delete {name!r})")

    def has_perm(self, perm, obj=None):
        return self.is_active and (self.is_superuser or perm in self._perms)

    def __str__(self):
        return self.username


# stored bytes -> their parsed copy: the mirror hands the same bytes to every request until
# the copy is rewritten. Bounded: cleared when full.
_parsed = {}
_MAX_PARSED = 20000


def identity_lookup(user_id):
    """(copy or None, auth epoch or None), from the mirror or in one Redis round trip;
    (None, None) when Redis cannot be read. The copy is returned only if written under
    the current epoch."""
    try:
        epoch_raw, raw = mirror.mget(cache.client(), [_epoch_key(), _key(user_id)])
    except Exception:  # noqa: BLE001 - Redis down: trust no copy, ask the database
        logger.warning("auth epoch unreadable: identity copies are not trusted")
        return None, None
    epoch = _epoch(epoch_raw)
    if raw is None:
        return None, epoch
    copy = _parsed.get(raw)
    if copy is None:
        copy = CachedIdentity(json.loads(raw))
        if len(_parsed) >= _MAX_PARSED:
            _parsed.clear()
        _parsed[raw] = copy
    if copy.epoch != epoch or not copy.is_active:
        return None, epoch
    return copy, epoch


def identity_fresh(copy, *, outage=False):
    """Whether `copy` may stand in for the database check now (see the module docstring)."""
    limit = _ttl() if outage else settings.OVERVIEW_AUTH_CACHE_S
    return copy is not None and time.time() - copy.checked_at < limit


def identity_remember(user, epoch):
    """Copy `user`'s scope facts to Redis (best effort: the database answered)."""
    ttl = _ttl()
    if not ttl or epoch is None or not user.is_active:
        return
    data = {
        "id": user.pk,
        "username": user.get_username(),
        "role": getattr(user, "role", ""),
        "epoch": epoch,
        "active": user.is_active,
        "superuser": user.is_superuser,
        "scope_kind": user.scope_kind,
        "scope_id": user.scope_id,
        "perms": sorted(user.get_all_permissions()),
        "checked_at": time.time(),
    }
    try:
        cache.client().set(_key(user.pk), json.dumps(data), ex=ttl)
    except Exception:  # noqa: BLE001 - only a copy
        logger.warning("could not copy the identity of user %s", user.pk)
    mirror.forget(_key(user.pk))


def identity_forget(user_id):
    if user_id is None:
        return
    try:
        cache.client().delete(_key(user_id))
    except Exception:  # noqa: BLE001
        logger.warning("could not drop the identity copy of user %s", user_id)
    mirror.forget(_key(user_id))


def _on_user_change(sender, instance, **kwargs):
    user_id = instance.pk
    transaction.on_commit(lambda: identity_forget(user_id))


# Every process keeps what it read of these (common/redis_mirror.py): Redis tells it when
# one changes (a deactivation's new epoch, a copy rewritten or dropped).
mirror.watch(_key(""))
mirror.watch(_epoch_key())


def _on_user_groups_change(sender, instance, action, reverse, **kwargs):
    """A user's groups or own permissions changed: its copy goes; from a group's side (users
    added to or removed from a group), every copy goes (the auth epoch)."""
    if not action.startswith("post_"):
        return
    if reverse:
        transaction.on_commit(auth_epoch_bump)
    else:
        _on_user_change(sender, instance)


def _on_group_permissions_change(sender, action, **kwargs):
    """A role group's permissions changed: every copy goes (the auth epoch)."""
    if action.startswith("post_"):
        transaction.on_commit(auth_epoch_bump)


post_save.connect(_on_user_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity-copy")
post_delete.connect(
    _on_user_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="identity-copy-delete"
)
m2m_changed.connect(
    _on_group_permissions_change, sender=Group.permissions.through, dispatch_uid="identity-perms"
)


def _connect_user_m2m():
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(
            _on_user_groups_change, sender=through, dispatch_uid=f"identity-{through.__name__}"
        )


_connect_user_m2m()
