"""Admin of ingestion: dead letters (browse, re-process)."""

from django.contrib import admin, messages
from django.utils.html import format_html

from accounts.choices import Role
from accounts.scope import is_platform_staff
from dashboard.ingest.services import dead_letters_reprocess
from dashboard.models import DeadLetter

# Platform ops roles read dead letters (payloads of every tenant); those who run
# the pipeline re-process them.
_READERS = frozenset({Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS})
_REPROCESSORS = frozenset({Role.OPS_ADMIN, Role.PAY_ADMIN})


def _platform_role_in(user, roles):
    return user.is_superuser or (is_platform_staff(user) and user.role in roles)


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Read-only log of rejected events; the only write is the re-process action (audited)."""

    list_display = (
        "received_at", "reason", "event_id", "topic", "partition", "offset", "status",
        "publication",
    )  # fmt: skip
    list_filter = ("reason", "status", "publication", "topic")
    search_fields = ("event_id", "detail", "topic", "payload_sha256")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    list_per_page = 100
    actions = ["reprocess_selected"]
    fields = (
        "received_at", "reason", "detail", "event_id", "topic", "partition", "offset",
        "payload_size", "payload_sha256", "payload_display", "publication", "publish_error",
        "status", "reprocessed_at", "reprocessed_by",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Payload size (bytes)")
    def payload_size(self, obj):
        return len(obj.payload)

    @admin.display(description="Payload (original bytes)")
    def payload_display(self, obj):
        return format_html(
            '<pre style="white-space: pre-wrap; max-width: 80em">{}</pre>', obj.payload_text
        )

    def has_module_permission(self, request):
        return request.user.is_staff and _platform_role_in(request.user, _READERS)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        # "change" is only the re-process action: every field is read-only.
        return request.user.is_staff and _platform_role_in(request.user, _REPROCESSORS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # evidence of what producers sent: never deleted by hand

    @admin.action(description="Re-process selected dead letters", permissions=["change"])
    def reprocess_selected(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        outcome = dead_letters_reprocess(dead_letter_ids=ids, actor=request.user)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items())) or "nothing"
        self.message_user(request, f"Re-processed {len(ids)}: {summary}.", messages.INFO)
