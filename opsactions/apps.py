from django.apps import AppConfig


class OpsactionsConfig(AppConfig):
    name = "opsactions"
    verbose_name = "Ops actions and approvals"

    def ready(self):
        from dashboard.health import register_check
        from opsactions.health import outbox_health

        register_check("ops_outbox", outbox_health)
