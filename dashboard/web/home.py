"""The home page of every role: its widget grid for one scope (the caller's own; staff pick
any). The page carries only its configuration; the layout, the catalogue and each widget's
data come from /api/dashboard/widgets (session auth), drawn by static/js/home.js."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from accounts.scope import can_view_dashboards, is_platform_staff, resolve_scope
from common.errors import DomainError
from dashboard.web.overview import scope_label

# Widget data is re-read this often (seconds); the server's cache follows the snapshots.
REFRESH_S = 60


@login_required
def home_page(request):
    """The widget grid of a scope, or the 403 page for accounts without dashboards."""
    context = {"staff": is_platform_staff(request.user), "scope": request.GET.get("scope", "")}
    if not can_view_dashboards(request.user):
        context["error"] = "This account may not view dashboards."
        return render(request, "dashboard/home.html", context, status=403)
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        context["error"] = exc.detail
        return render(request, "dashboard/home.html", context, status=exc.status_code)
    context.update(
        scope=str(scope),
        scope_label=scope_label(scope),
        config={
            "scope": str(scope),
            "api": reverse("dashboard-widgets-list"),
            "refreshS": REFRESH_S,
            "atlasUrl": static("vendor/world-atlas/countries-110m.json"),
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        },
    )
    return render(request, "dashboard/home.html", context)
