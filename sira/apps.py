from django.apps import AppConfig


class SiraConfig(AppConfig):
    name = "sira"
    verbose_name = "SIRA recommendations"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        # After-intake hooks: auto-remediation (nothing until enabled), then the alerts of
        # high and critical recommendations; also the threshold backtest.
        import sira.alerting  # noqa: F401
        import sira.autoremediation  # noqa: F401
        from accounts.web.nav import register_page
        from opsactions.signals import action_changed
        from opsactions.web.panels import register_detail_panel
        from sira.selectors import can_view_sira
        from sira.signals import follow_action
        from sira.web.views import action_panel

        # The recommendation's status follows its ops action (sent after the commit).
        action_changed.connect(follow_action, dispatch_uid="sira-follow-action")
        # Approvers see the recommendation inside the ops console's action detail.
        register_detail_panel("sira", action_panel)
        register_page(
            key="sira",
            label=_("SIRA"),
            url_name="sira-feed",
            order=65,
            allowed=can_view_sira,
            icon="✦",
        )

    def seed_demo(self):
        """Called by `manage.py seed_demo`: a few recommendations (once)."""
        from sira.demo import seed_demo_recommendations

        seed_demo_recommendations()
