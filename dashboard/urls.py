"""Server-rendered dashboard pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("overview", views.overview_page, name="dashboard-overview"),
    path("scopes", views.scope_options, name="scope-options"),
]
