"""Server-rendered dashboard pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from dashboard.web import overview, scopes

urlpatterns = [
    path("overview", overview.overview_page, name="dashboard-overview"),
    path("scopes", scopes.scope_options, name="scope-options"),
]
