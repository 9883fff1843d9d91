from django.apps import AppConfig


class OpsactionsConfig(AppConfig):
    name = "opsactions"
    verbose_name = "Ops actions and approvals"
