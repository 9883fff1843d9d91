from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, roles and tenant scope"

    def ready(self):
        from accounts import signals  # noqa: F401 - connects the token revocation on deactivation
