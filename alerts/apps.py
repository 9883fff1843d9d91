from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from accounts.web.nav import register_page
        from alerts import system_metrics  # noqa: F401 (registers the dashboard's figures)
        from alerts.selectors import alert_list_widget_data
        from alerts.web.pages import can_view_alerts
        from dashboard.widgets.registry import register_widget_provider

        register_widget_provider("alert_list", alert_list_widget_data)
        register_page(
            key="alerts",
            label=_("Alerts"),
            url_name="alerts",
            order=55,
            allowed=can_view_alerts,
            icon="!",
        )
