from django.apps import AppConfig


class OpsactionsConfig(AppConfig):
    name = "opsactions"
    verbose_name = "Ops actions and approvals"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from accounts.web.nav import register_page
        from dashboard.health import register_check
        from dashboard.widgets.choices import OPS_ACTIONS_PROVIDER
        from dashboard.widgets.registry import register_widget_provider
        from opsactions.health import outbox_health
        from opsactions.selectors import can_view_ops
        from opsactions.widgets import ops_actions_widget_data

        register_check("ops_outbox", outbox_health)
        from opsactions.notify import connect as connect_alerts

        connect_alerts()  # approver e-mails, system figures and threshold overrides for alerts
        register_widget_provider(OPS_ACTIONS_PROVIDER, ops_actions_widget_data)
        register_page(
            key="ops",
            label=_("Ops console"),
            url_name="ops-console",
            order=60,
            allowed=can_view_ops,
            icon="⚑",
        )

    def seed_demo(self):
        """Called by `manage.py seed_demo`: a few ops actions in every state (once)."""
        from opsactions.demo import seed_demo_actions

        seed_demo_actions()
