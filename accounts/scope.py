"""The tenant-scope helper: every read that depends on who asks goes through here.

One syntax everywhere: `platform`, `merchant:ID`, `agent:ID`, `bank:ID`,
`region:CC`. Staff with a platform-wide scope may look at any scope; every
other user sees only their own scope, whatever they ask for (asking for another
is refused with 403, never answered with data).
"""

import re
from dataclasses import dataclass

from accounts.choices import ScopeKind
from common.errors import NotAllowed, ValidationFailed

_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_KINDS = frozenset(ScopeKind.values)  # (`.values` builds its list on every call)
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


class ScopeSyntaxError(ValidationFailed):
    default_code = "invalid_scope"


@dataclass(frozen=True, slots=True)
class Scope:
    """A tenant scope: kind plus id (empty for platform; a country code for region)."""

    kind: str
    id: str = ""

    @classmethod
    def parse(cls, text, *, field="scope"):
        """Parse `platform` / `kind:id`; raises ScopeSyntaxError (HTTP 400) naming `field`."""

        def bad(message):
            return ScopeSyntaxError(message, errors={field: [message]})

        if not isinstance(text, str) or not text:
            raise bad("Scope is required: platform, merchant:ID, agent:ID, bank:ID or region:CC.")
        text = text.strip()
        if text == ScopeKind.PLATFORM:
            return cls(ScopeKind.PLATFORM, "")
        kind, sep, ident = text.partition(":")
        if not sep or kind not in _KINDS or kind == ScopeKind.PLATFORM:
            raise bad(
                f"Unknown scope {text!r}: use platform, merchant:ID, agent:ID, bank:ID "
                "or region:CC."
            )
        if kind == ScopeKind.REGION:
            if not _COUNTRY_RE.match(ident):
                raise bad(f"Region scope needs an ISO country code (region:SN), got {ident!r}.")
        elif not _ID_RE.match(ident):
            raise bad(f"Scope id {ident!r} must be 1-64 characters of letters, digits, _ . -")
        return cls(kind, ident)

    @classmethod
    def platform(cls):
        return cls(ScopeKind.PLATFORM, "")

    @property
    def is_platform(self):
        return self.kind == ScopeKind.PLATFORM

    def __str__(self):
        return self.kind if self.is_platform else f"{self.kind}:{self.id}"


def user_scope(user):
    """The scope a user is bound to."""
    return Scope(user.scope_kind or ScopeKind.PLATFORM, user.scope_id or "")


def is_platform_staff(user):
    """Molam staff who may look at any tenant: platform scope and the view_platform right."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return user_scope(user).is_platform and user.has_perm("accounts.view_platform")


def can_view_dashboards(user):
    """Whether `user` has any scope to look at: platform staff, or a tenant scope of its own."""
    if is_platform_staff(user):
        return True
    if not (user and user.is_authenticated and user.is_active):
        return False
    return not user_scope(user).is_platform and user.has_perm("accounts.view_own_tenant")


def can_view(user, scope):
    if not (user and user.is_authenticated and user.is_active):
        return False
    if is_platform_staff(user):
        return True
    own = user_scope(user)
    if own.is_platform:
        return False  # a platform-scoped user without view_platform sees nothing
    return own == scope


def resolve_scope(user, requested=None, *, field="scope"):
    """The scope a query runs in for `user`, from an optional requested scope string.

    Staff default to platform; tenant users default to (and may only ask for)
    their own scope. Raises ScopeSyntaxError (400) or NotAllowed (403).
    """
    if not (user and user.is_authenticated and user.is_active):
        raise NotAllowed("Authentication required.", code="not_authenticated")
    if requested in (None, ""):
        if is_platform_staff(user):
            return Scope.platform()
        own = user_scope(user)
        if own.is_platform:
            raise NotAllowed("This account may not view dashboards.")
        return own
    scope = Scope.parse(requested, field=field)
    if not can_view(user, scope):
        raise NotAllowed(f"You may not view scope {scope}.", code="scope_forbidden")
    return scope


def restrict_queryset(queryset, user, *, merchant=None, agent=None, bank=None, country=None):
    """Limit a queryset to the rows `user` may see, by the fields naming each tenant key.

    Pass the model's field name for each tenant kind it carries; a user whose
    scope kind has no field here sees nothing (never everything).
    """
    if is_platform_staff(user):
        return queryset
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    own = user_scope(user)
    field = {
        ScopeKind.MERCHANT: merchant,
        ScopeKind.AGENT: agent,
        ScopeKind.BANK: bank,
        ScopeKind.REGION: country,
    }.get(own.kind)
    if not field:
        return queryset.none()
    return queryset.filter(**{field: own.id})
