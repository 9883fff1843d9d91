"""Server-rendered alerts pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from alerts.web import pages

urlpatterns = [
    path("alerts", pages.alerts_page, name="alerts"),
    path("alerts/live", pages.alerts_live, name="alerts-live"),
    path("alerts/<int:alert_id>", pages.alert_detail, name="alert-detail"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        pages.alert_transition,
        {"verb": "acknowledge"},
        name="alert-acknowledge",
    ),
    path(
        "alerts/<int:alert_id>/resolve",
        pages.alert_transition,
        {"verb": "resolve"},
        name="alert-resolve",
    ),
]
