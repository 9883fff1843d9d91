"""Admin of snapshots: FX rates (editable), snapshots (read-only, for inspection)."""

from django.contrib import admin

from dashboard.models import FxRate, Snapshot


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "quote_currency", "rate_date", "rate", "source", "updated_at")
    list_filter = ("currency", "quote_currency", "source")
    search_fields = ("currency",)
    date_hierarchy = "rate_date"
    ordering = ("currency", "quote_currency", "-rate_date")


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    """Snapshots are computed, never edited: a wrong figure is fixed at its source."""

    list_display = ("scope_kind", "scope_id", "period", "computed_at", "as_of", "window_to")
    list_filter = ("scope_kind", "period")
    search_fields = ("scope_id",)
    readonly_fields = (
        "scope_kind",
        "scope_id",
        "period",
        "body",
        "window_to",
        "as_of",
        "computed_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
