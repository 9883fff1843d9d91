"""Writes of the accounts app: user provisioning with one role and one scope."""

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.choices import Role, ScopeKind
from accounts.models import User
from accounts.scope import Scope
from common.errors import Conflict, ValidationFailed

# Which scope kinds make sense for each role.
ROLE_SCOPE_KINDS = {
    Role.OPS_ADMIN: {ScopeKind.PLATFORM, ScopeKind.REGION},
    Role.PAY_ADMIN: {ScopeKind.PLATFORM, ScopeKind.REGION},
    Role.FINANCE_OPS: {ScopeKind.PLATFORM, ScopeKind.REGION, ScopeKind.BANK},
    Role.MERCHANT_ADMIN: {ScopeKind.MERCHANT},
    Role.AGENT: {ScopeKind.AGENT},
    Role.SIRA_SERVICE: {ScopeKind.PLATFORM},
}


def user_create(*, username, password, role, scope, email="", update=False):
    """Create (or with update=True, reset) a user with exactly one role group and a scope."""
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role {role!r}; one of {', '.join(Role.values)}.",
            errors={"role": [f"Unknown role {role!r}."]},
        )
    parsed = scope if isinstance(scope, Scope) else Scope.parse(scope)
    if parsed.kind not in ROLE_SCOPE_KINDS[Role(role)]:
        allowed = ", ".join(sorted(ROLE_SCOPE_KINDS[Role(role)]))
        raise ValidationFailed(
            f"Role {role} cannot have scope {parsed}; allowed kinds: {allowed}.",
            errors={"scope": [f"Not allowed for role {role}."]},
        )
    if not username or not password:
        raise ValidationFailed("username and password are required.")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user and not update:
            raise Conflict(f"User {username!r} already exists.", code="user_exists")
        if user is None:
            user = User(username=username)
        user.email = email
        user.role = role
        user.scope_kind = parsed.kind
        user.scope_id = parsed.id
        # Staff roles may use the Django admin (ops console); tenants never.
        user.is_staff = role in (Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS)
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
    return user


def user_deactivate(*, user):
    """Deactivate a user: sign-in refused, every refresh token blacklisted and every access
    token refused from the next request on (accounts.signals does the revoking, so the
    admin's "active" checkbox and any other save do the same)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
    return user
