"""Read-only admin views of SIRA: recommendations, their audit and the Kafka dead letters
(changes go through the services: the API, the pages and manage.py sira_autoremediation)."""

from django.contrib import admin

from common.admin import NoWritesAdmin
from sira.models import Recommendation, RecommendationAudit, SiraDeadLetter


class ReadOnly(NoWritesAdmin, admin.ModelAdmin):
    """SIRA's rows as they are: changed only through the services."""


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnly):
    list_display = (
        "id",
        "external_id",
        "rec_type",
        "target",
        "priority",
        "status",
        "model_name",
        "model_version",
        "created_at",
    )
    list_filter = ("status", "rec_type", "priority", "origin", "model_name")
    search_fields = ("external_id", "target")


@admin.register(RecommendationAudit)
class RecommendationAuditAdmin(ReadOnly):
    list_display = ("id", "recommendation", "event", "actor_label", "at")
    list_filter = ("event",)


@admin.register(SiraDeadLetter)
class SiraDeadLetterAdmin(ReadOnly):
    list_display = ("id", "received_at", "topic", "partition", "offset", "reason")
    list_filter = ("reason",)
    exclude = ("payload",)
    readonly_fields = ("payload_text",)

    @admin.display(description="payload")
    def payload_text(self, obj):
        return bytes(obj.payload).decode("utf-8", errors="replace")
