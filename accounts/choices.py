from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPS_ADMIN = "ops_admin", _("Ops admin")
    PAY_ADMIN = "pay_admin", _("Payments admin")
    FINANCE_OPS = "finance_ops", _("Finance ops")
    MERCHANT_ADMIN = "merchant_admin", _("Merchant admin")
    AGENT = "agent", _("Agent")
    SIRA_SERVICE = "sira_service", _("SIRA service")


class ScopeKind(models.TextChoices):
    PLATFORM = "platform", _("Platform")
    MERCHANT = "merchant", _("Merchant")
    AGENT = "agent", _("Agent")
    BANK = "bank", _("Bank")
    REGION = "region", _("Region (country)")


# Roles that work for Molam itself and may look at any tenant (when their own
# scope is platform-wide).
STAFF_ROLES = frozenset({Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS, Role.SIRA_SERVICE})
