"""Fixtures of the ops-action tests: more staff users, a helper to request actions."""

import pytest

from accounts.choices import Role
from opsactions import services
from tests.factories import make_user


@pytest.fixture
def ops_c(db):
    return make_user("ops_c", Role.OPS_ADMIN)


@pytest.fixture
def pay_b(db):
    return make_user("pay_b", Role.PAY_ADMIN)


@pytest.fixture
def super_ops(db):
    """A superuser whose role is ops_admin: counts as that role, never self-approves."""
    user = make_user("super_ops", Role.OPS_ADMIN)
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


@pytest.fixture
def request_action():
    """request_action(actor, action_type="FREEZE_MERCHANT", target=..., params=...)."""

    def make(actor, action_type="FREEZE_MERCHANT", target="merchant:m_1", params=None, **kw):
        if params is None:
            params = {"reason_code": "fraud_suspected"} if "FREEZE" in action_type else {}
        return services.action_create(
            actor=actor,
            action_type=action_type,
            target=target,
            params=params,
            reason=kw.pop("reason", "test reason"),
            **kw,
        )

    return make


@pytest.fixture
def crew(db):
    """Enough distinct staff for every quorum, plus the odd accounts an attacker would use."""
    from accounts.models import User

    users = {
        "ops1": make_user("adv_ops1", Role.OPS_ADMIN),
        "ops2": make_user("adv_ops2", Role.OPS_ADMIN),
        "ops3": make_user("adv_ops3", Role.OPS_ADMIN),
        "pay1": make_user("adv_pay1", Role.PAY_ADMIN),
        "pay2": make_user("adv_pay2", Role.PAY_ADMIN),
        "fin1": make_user("adv_fin1", Role.FINANCE_OPS),
        "fin2": make_user("adv_fin2", Role.FINANCE_OPS),
        "merchant": make_user("adv_merchant", Role.MERCHANT_ADMIN, "merchant:m_adv"),
        "agent": make_user("adv_agent", Role.AGENT, "agent:a_adv"),
        "sira": make_user("adv_sira", Role.SIRA_SERVICE),
        "region_sn": make_user("adv_region_sn", Role.OPS_ADMIN, "region:SN"),
        "region_gh": make_user("adv_region_gh", Role.OPS_ADMIN, "region:GH"),
        "bank_fin": make_user("adv_bank_fin", Role.FINANCE_OPS, "bank:b_1"),
        "roleless": User.objects.create_user("adv_roleless", password="pw-test-1234"),
        "root": User.objects.create_superuser("adv_root", password="pw-test-1234"),
    }
    super_ops = make_user("adv_super_ops", Role.OPS_ADMIN)
    super_ops.is_superuser = True
    super_ops.save(update_fields=["is_superuser"])
    users["super_ops"] = super_ops
    # Tenants and machines made staff by mistake must still get no console.
    for name in ("merchant", "agent", "sira", "roleless"):
        users[name].is_staff = True
        users[name].save(update_fields=["is_staff"])
    return users
