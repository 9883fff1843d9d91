from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
