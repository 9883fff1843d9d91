from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and agent map"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from accounts.web.nav import register_page
        from agents.selectors import can_view_agents

        # Same rule as the pages themselves (agents.web.visibility_or_403).
        register_page(
            key="map",
            label=_("Agent map"),
            url_name="agents-map",
            order=40,
            allowed=can_view_agents,
            icon="◎",
        )
        register_page(
            key="float",
            label=_("Float treasury"),
            url_name="agents-float",
            order=50,
            allowed=can_view_agents,
            icon="¤",
        )

    def seed_demo(self):
        """Called by `manage.py seed_demo`: demo agents around West African cities."""
        from agents.demo import seed_demo_agents

        seed_demo_agents()
