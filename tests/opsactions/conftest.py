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
