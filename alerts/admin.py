"""Django admin of alerts: rules, silences and contact points editable by staff who
manage alert rules; alerts read-only with acknowledge and resolve actions (through the
services); the delivery log and evaluation history read-only."""

from django import forms
from django.contrib import admin, messages

from accounts.scope import is_platform_staff
from alerts import services
from alerts.models import (
    CONTACT_POINT_FIELDS,
    Alert,
    AlertRule,
    ContactPoint,
    NotificationDelivery,
    RuleEvaluation,
    Silence,
)
from common.admin import NoWritesAdmin
from common.errors import DomainError


def _staff(request):
    return request.user.is_staff and is_platform_staff(request.user)


def _manager(request):
    return _staff(request) and request.user.has_perm("accounts.manage_alert_rules")


class _ManagedAdmin(admin.ModelAdmin):
    """Visible to platform staff; changed only by those who manage alert rules."""

    def has_module_permission(self, request):
        return _staff(request)

    def has_view_permission(self, request, obj=None):
        return _staff(request)

    def has_add_permission(self, request):
        return _manager(request)

    def has_change_permission(self, request, obj=None):
        return _manager(request)

    def has_delete_permission(self, request, obj=None):
        return _manager(request)


class _ReadOnlyAdmin(NoWritesAdmin, _ManagedAdmin):
    """Written by evaluation and notification only."""


@admin.register(AlertRule)
class AlertRuleAdmin(_ManagedAdmin):
    list_display = ["key", "name", "metric", "scope", "comparator", "threshold", "severity",
                    "category", "enabled"]  # fmt: skip
    list_filter = ["enabled", "severity", "category"]
    search_fields = ["key", "name", "metric"]


@admin.register(Silence)
class SilenceAdmin(_ManagedAdmin):
    list_display = ["id", "owner_scope", "scope", "category", "starts_at", "ends_at",
                    "created_by", "comment"]  # fmt: skip
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ContactPointForm(forms.ModelForm):
    url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = ContactPoint
        fields = CONTACT_POINT_FIELDS

    def clean_secret(self):
        value = self.cleaned_data.get("secret")
        return value or (self.instance.secret if self.instance.pk else "")


@admin.register(ContactPoint)
class ContactPointAdmin(_ManagedAdmin):
    form = ContactPointForm
    list_display = ["name", "owner_scope", "kind", "url", "enabled"]
    list_filter = ["kind", "enabled"]


@admin.register(Alert)
class AlertAdmin(_ReadOnlyAdmin):
    list_display = ["id", "title", "scope", "severity", "category", "source", "status",
                    "occurrences", "last_seen"]  # fmt: skip
    list_filter = ["status", "severity", "category", "source"]
    search_fields = ["title", "scope", "fingerprint"]
    actions = ["acknowledge_selected", "resolve_selected"]

    def has_change_permission(self, request, obj=None):
        return _staff(request)  # the actions; every field is read-only

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Alert._meta.fields]

    def _apply(self, request, queryset, service, verb):
        done = 0
        for alert in queryset:
            try:
                service(actor=request.user, alert_id=alert.pk, comment="(admin)")
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{alert.pk}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} alert(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Acknowledge selected alerts")
    def acknowledge_selected(self, request, queryset):
        self._apply(request, queryset, services.alert_acknowledge, "acknowledged")

    @admin.action(description="Resolve selected alerts")
    def resolve_selected(self, request, queryset):
        self._apply(request, queryset, services.alert_resolve, "resolved")


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(_ReadOnlyAdmin):
    list_display = ["id", "contact_point", "group_key", "status", "attempts",
                    "response_status", "created_at", "sent_at"]  # fmt: skip
    list_filter = ["status"]


@admin.register(RuleEvaluation)
class RuleEvaluationAdmin(_ReadOnlyAdmin):
    list_display = ["rule", "at", "duration_ms", "breaching", "pending", "firing", "resolved",
                    "skipped", "error"]  # fmt: skip
    list_filter = ["rule"]
