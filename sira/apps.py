from django.apps import AppConfig


class SiraConfig(AppConfig):
    name = "sira"
    verbose_name = "SIRA recommendations"
