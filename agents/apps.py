from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and agent map"

    def seed_demo(self):
        """Called by `manage.py seed_demo`: demo agents around West African cities."""
        from agents.demo import seed_demo_agents

        seed_demo_agents()
