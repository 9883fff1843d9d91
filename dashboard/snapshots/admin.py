"""Admin of snapshots: FX rates (editable), snapshots (read-only, for inspection)."""

from django.contrib import admin

from accounts.scope import is_platform_staff
from dashboard.models import FxRate, Snapshot
from dashboard.snapshots.fx import fx_rates_delete, fx_rates_load


def _may_manage_fx(user):
    return user.is_superuser or (
        is_platform_staff(user) and user.has_perm("accounts.manage_fx_rates")
    )


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    """Platform staff read the rates; finance ops (manage_fx_rates) add and correct them
    through the same service as `load_fx_rates`, which marks the scopes whose converted
    figures change (deletions too: `fx_rates_delete`)."""

    list_display = ("currency", "quote_currency", "rate_date", "rate", "source", "updated_at")
    list_filter = ("currency", "quote_currency", "source")
    search_fields = ("currency",)
    date_hierarchy = "rate_date"
    ordering = ("currency", "quote_currency", "-rate_date")
    fields = ("currency", "quote_currency", "rate_date", "rate", "source")

    def has_module_permission(self, request):
        return request.user.is_staff and is_platform_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return _may_manage_fx(request.user)

    def has_change_permission(self, request, obj=None):
        return _may_manage_fx(request.user)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser  # a rate is corrected, not removed

    def save_model(self, request, obj, form, change):
        fx_rates_load(
            rows=[(obj.currency, obj.quote_currency, obj.rate_date, obj.rate)],
            source=obj.source or f"admin:{request.user.username}",
        )
        saved = FxRate.objects.get(
            currency=obj.currency.upper(), quote_currency=obj.quote_currency.upper(),
            rate_date=obj.rate_date,
        )  # fmt: skip
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        fx_rates_delete(rate_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        fx_rates_delete(rate_ids=list(queryset.values_list("pk", flat=True)))


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
