from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard: ingestion, aggregates, snapshots"

    def ready(self):
        from prometheus_client import REGISTRY

        # The identity copies' signals (a user or role group changed: copies dropped), in
        # every process, not only where the API's views are loaded.
        from dashboard.api import identity  # noqa: F401
        from dashboard.health import register_check
        from dashboard.snapshots.health import SnapshotAgeCollector, snapshot_health

        register_check("snapshots", snapshot_health)
        self._register_pages()
        if not getattr(DashboardConfig, "_collector_registered", False):
            REGISTRY.register(SnapshotAgeCollector())
            DashboardConfig._collector_registered = True

    @staticmethod
    def _register_pages():
        from django.utils.translation import gettext_lazy as _

        from accounts.scope import can_view_dashboards
        from accounts.web.nav import register_page

        register_page(
            key="home",
            label=_("Home"),
            url_name="dashboard-home",
            order=5,
            allowed=can_view_dashboards,
            icon="⌂",
        )
        register_page(
            key="overview",
            label=_("Overview"),
            url_name="dashboard-overview",
            order=10,
            allowed=can_view_dashboards,
            icon="◧",
        )
        register_page(
            key="explorer",
            label=_("Metrics"),
            url_name="dashboard-explorer",
            order=20,
            allowed=can_view_dashboards,
            icon="∿",
        )
        register_page(
            key="transactions",
            label=_("Transactions"),
            url_name="transactions",
            order=29,
            allowed=can_view_dashboards,
            icon="☰",
        )
        register_page(
            key="stream",
            label=_("Live feed"),
            url_name="dashboard-stream",
            order=30,
            allowed=can_view_dashboards,
            icon="⇅",
        )

    def seed_demo(self):
        """Demo FX rates (into XOF) for today and the last 60 days' start."""
        from datetime import UTC, datetime, timedelta

        from dashboard.snapshots.fx import fx_rates_seed_demo

        today = datetime.now(UTC).date()
        fx_rates_seed_demo(day=today - timedelta(days=400))
        fx_rates_seed_demo(day=today)
