from django.db import models


class Role(models.TextChoices):
    OPS_ADMIN = "ops_admin", "Ops admin"
    PAY_ADMIN = "pay_admin", "Payments admin"
    FINANCE_OPS = "finance_ops", "Finance ops"
    MERCHANT_ADMIN = "merchant_admin", "Merchant admin"
    AGENT = "agent", "Agent"
    SIRA_SERVICE = "sira_service", "SIRA service"


class ScopeKind(models.TextChoices):
    PLATFORM = "platform", "Platform"
    MERCHANT = "merchant", "Merchant"
    AGENT = "agent", "Agent"
    BANK = "bank", "Bank"
    REGION = "region", "Region (country)"


# Roles that work for Molam itself and may look at any tenant (when their own
# scope is platform-wide).
STAFF_ROLES = frozenset({Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS, Role.SIRA_SERVICE})
