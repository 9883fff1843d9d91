"""Server-rendered ops console pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from opsactions.web import create, detail, inbox

urlpatterns = [
    path("ops", inbox.console, name="ops-console"),
    path("ops/new", create.action_new, name="ops-new"),
    path("ops/preview", create.action_preview_partial, name="ops-preview"),
    path("ops/<int:action_id>", detail.action_detail, name="ops-detail"),
    path("ops/<int:action_id>/<str:verb>", detail.action_transition, name="ops-transition"),
]
