import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_USERS
from accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_user_sets_role_group_and_scope():
    call_command(
        "create_user",
        username="m_admin",
        password="s3cret-pass",
        role="merchant_admin",
        scope="merchant:m_77",
    )
    user = User.objects.get(username="m_admin")
    assert user.scope_kind == "merchant" and user.scope_id == "m_77"
    assert list(user.groups.values_list("name", flat=True)) == ["merchant_admin"]
    assert user.check_password("s3cret-pass")
    assert not user.is_staff


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("merchant_admin", "platform", "cannot have scope"),
        ("ops_admin", "merchant:bad id", "Scope id"),
        ("agent", "merchant:m_1", "cannot have scope"),
    ],
)
def test_create_user_refuses_bad_role_scope_pairs(role, scope, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_user", username="x", password="p-123456", role=role, scope=scope)
    assert not User.objects.filter(username="x").exists()


def test_create_user_refuses_an_existing_username_without_update(ops_admin):
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_user",
            username="ops_admin",
            password="p-123456",
            role="ops_admin",
            scope="platform",
        )


def test_seed_demo_creates_every_role_and_is_idempotent():
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    roles = set(User.objects.exclude(role="").values_list("role", flat=True))
    assert roles == {
        "ops_admin",
        "pay_admin",
        "finance_ops",
        "merchant_admin",
        "agent",
        "sira_service",
    }
    for username, password, _role, scope in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert str(user.scope) == scope
