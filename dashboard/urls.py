"""Server-rendered dashboard pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from dashboard.transactions import web as transactions
from dashboard.web import explorer, home, overview, scopes, stream

urlpatterns = [
    path("home", home.home_page, name="dashboard-home"),
    path("overview", overview.overview_page, name="dashboard-overview"),
    path("overview/cards", overview.overview_cards, name="dashboard-overview-cards"),
    path("overview/series", overview.overview_series, name="dashboard-overview-series"),
    # Not /metrics: that is the Prometheus endpoint.
    path("explore", explorer.explorer_page, name="dashboard-explorer"),
    path("scopes", scopes.scope_options, name="scope-options"),
    path("stream", stream.stream_page, name="dashboard-stream"),
    path("stream/events", stream.stream_events, name="dashboard-stream-events"),
    path("transactions", transactions.transactions_page, name="transactions"),
    path("transactions/rows", transactions.transactions_rows, name="transactions-rows"),
    # <path:>: an event id is any 1-64 characters, "/" included.
    path(
        "transactions/event/<path:event_id>",
        transactions.transaction_detail,
        name="transactions-detail",
    ),
]
