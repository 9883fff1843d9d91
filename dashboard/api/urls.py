from django.urls import path
from rest_framework.routers import SimpleRouter

from dashboard.api import views
from dashboard.api.widgets import WidgetViewSet

router = SimpleRouter(trailing_slash="")
router.register("dashboard/widgets", WidgetViewSet, basename="dashboard-widgets")

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
urlpatterns += router.urls
