"""Widgets of the home pages (dashboard/widgets owns them)."""

from django.conf import settings
from django.db import models

from accounts.choices import ScopeKind
from dashboard.widgets.choices import WidgetType

__all__ = ["Widget"]

GRID_COLUMNS = 12


class Widget(models.Model):
    """One panel of a home grid: a type, its config and its place on a 12-column grid.

    `owner` null: the scope's shared layout (what every user of the scope starts
    from). A row with an empty `scope_id` and a non-platform kind is the default
    layout of every scope of that kind (written by migration 0011); a platform
    row with no owner is the platform's shared (and default) layout.
    """

    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="widgets",
        help_text="Empty: the scope's shared layout.",
    )
    type = models.CharField(max_length=16, choices=WidgetType.choices)
    title = models.CharField(max_length=120)
    x = models.PositiveSmallIntegerField(default=0)
    y = models.PositiveSmallIntegerField(default=0)
    w = models.PositiveSmallIntegerField(default=4)
    h = models.PositiveSmallIntegerField(default=3)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_widget"
        ordering = ["y", "x", "id"]
        indexes = [
            # The home page reads one layout: (scope, owner) -> its widgets.
            models.Index(fields=["scope_kind", "scope_id", "owner"], name="widget_layout_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(w__gte=1, h__gte=1, x__lt=GRID_COLUMNS, w__lte=GRID_COLUMNS),
                name="widget_position_valid",
            ),
        ]

    def __str__(self):
        scope = self.scope_kind if not self.scope_id else f"{self.scope_kind}:{self.scope_id}"
        return f"{self.title} ({self.type}, {scope})"

    @property
    def is_kind_default(self):
        """The default layout of every scope of a kind (no scope id, no owner)."""
        return self.scope_kind != ScopeKind.PLATFORM and not self.scope_id

    @property
    def position(self):
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}
