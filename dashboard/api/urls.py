from django.urls import path
from rest_framework.routers import SimpleRouter

from dashboard.api import views
from dashboard.api.widgets import WidgetViewSet
from dashboard.transactions import api as transactions

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
urlpatterns += [
    path(
        "dashboard/transactions",
        transactions.TransactionListView.as_view(),
        name="dashboard-transactions",
    ),
    path(
        "dashboard/drilldown",
        transactions.DrilldownView.as_view(),
        name="dashboard-transactions-drilldown",
    ),
    # <path:>: an event id is any 1-64 characters, "/" included.
    path(
        "dashboard/transactions/<path:event_id>",
        transactions.TransactionDetailView.as_view(),
        name="dashboard-transaction",
    ),
]
urlpatterns += router.urls
