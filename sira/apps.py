from django.apps import AppConfig


class SiraConfig(AppConfig):
    name = "sira"
    verbose_name = "SIRA recommendations"

    def ready(self):
        from opsactions.signals import action_changed
        from sira.signals import follow_action

        # The recommendation's status follows its ops action (sent after the commit).
        action_changed.connect(follow_action, dispatch_uid="sira-follow-action")
