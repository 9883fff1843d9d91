from django.urls import path

from dashboard.api import views

urlpatterns = [
    path("ping", views.ping, name="ping"),
    path("dashboard/health", views.health, name="health"),
    path("dashboard/overview", views.OverviewView.as_view(), name="dashboard-overview"),
    path(
        "dashboard/metrics/<str:metric>/timeseries",
        views.TimeseriesView.as_view(),
        name="dashboard-metric-timeseries",
    ),
]
