"""Agents in the Django admin: browse and search; float and history are read-only
(they come from events), status and limits change through ops actions."""

from django.contrib import admin

from accounts.scope import is_platform_staff
from agents.models import Agent
from common.admin import NoWritesAdmin


@admin.register(Agent)
class AgentAdmin(NoWritesAdmin, admin.ModelAdmin):
    """Every field read-only; a plain ModelAdmin, not GISModelAdmin, whose map widget loads
    OpenLayers from a CDN (no page may need the internet; the agent map page shows agents)."""

    list_display = (
        "agent_id",
        "country",
        "city",
        "status",
        "currency",
        "float_balance",
        "float_updated_at",
        "sales_24h",
        "last_seen_at",
    )
    list_filter = ("status", "country")
    search_fields = ("agent_id", "city", "region")
    show_full_result_count = False  # a million agents: no COUNT(*) per page
    readonly_fields = [f.name for f in Agent._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_staff and is_platform_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)
