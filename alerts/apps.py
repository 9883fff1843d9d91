from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from alerts import system_metrics  # noqa: F401 (registers the dashboard's figures)
        from alerts.selectors import alert_list_widget_data
        from dashboard.widgets.registry import register_widget_provider

        register_widget_provider("alert_list", alert_list_widget_data)
