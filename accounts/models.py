from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.choices import Role, ScopeKind
from accounts.roles import PERMISSIONS


class User(AbstractUser):
    """A person or service account with one role (a group) and one tenant scope."""

    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    scope_kind = models.CharField(
        max_length=16, choices=ScopeKind.choices, default=ScopeKind.PLATFORM
    )
    scope_id = models.CharField(max_length=64, blank=True, default="")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = PERMISSIONS
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope_kind="platform", scope_id="")
                    | (~models.Q(scope_kind="platform") & ~models.Q(scope_id=""))
                ),
                name="user_scope_id_matches_kind",
            )
        ]

    @property
    def scope(self):
        from accounts.scope import Scope

        return Scope(self.scope_kind, self.scope_id)

    def __str__(self):
        return self.username
