import pytest

from accounts.choices import Role
from accounts.scope import Scope, ScopeSyntaxError, resolve_scope, restrict_queryset
from common.errors import NotAllowed
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "kind", "ident"),
    [
        ("platform", "platform", ""),
        ("merchant:m_1042", "merchant", "m_1042"),
        ("agent:a_1", "agent", "a_1"),
        ("bank:b_sgbs", "bank", "b_sgbs"),
        ("region:SN", "region", "SN"),
    ],
)
def test_scope_syntax_round_trips(text, kind, ident):
    scope = Scope.parse(text)
    assert (scope.kind, scope.id) == (kind, ident)
    assert str(scope) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "merchant",
        "merchant:",
        "region:sn",
        "region:SEN",
        "planet:x",
        "merchant:a b",
        "merchant:" + "x" * 65,
        "platform:x",
    ],
)
def test_bad_scope_is_a_400_naming_the_field(text):
    with pytest.raises(ScopeSyntaxError) as info:
        Scope.parse(text, field="target")
    assert info.value.status_code == 400
    assert "target" in info.value.errors


def test_staff_default_to_platform_and_may_choose_any_scope(ops_admin):
    assert resolve_scope(ops_admin, None) == Scope.platform()
    assert resolve_scope(ops_admin, "merchant:m_2") == Scope("merchant", "m_2")


def test_merchant_admin_gets_its_own_scope_by_default(merchant_admin_m1):
    assert resolve_scope(merchant_admin_m1, None) == Scope("merchant", "m_1")
    assert resolve_scope(merchant_admin_m1, "merchant:m_1") == Scope("merchant", "m_1")


@pytest.mark.parametrize("asked", ["merchant:m_2", "platform", "region:SN", "agent:a_1"])
def test_merchant_admin_asking_for_another_scope_is_refused(merchant_admin_m1, asked):
    with pytest.raises(NotAllowed) as info:
        resolve_scope(merchant_admin_m1, asked)
    assert info.value.status_code == 403


def test_region_user_sees_only_its_country(region_sn):
    assert resolve_scope(region_sn, None) == Scope("region", "SN")
    with pytest.raises(NotAllowed):
        resolve_scope(region_sn, "region:CI")
    with pytest.raises(NotAllowed):
        resolve_scope(region_sn, "platform")


def test_platform_account_without_a_role_sees_nothing(outsider):
    with pytest.raises(NotAllowed):
        resolve_scope(outsider, None)
    with pytest.raises(NotAllowed):
        resolve_scope(outsider, "merchant:m_1")


def test_restrict_queryset_limits_rows_to_the_tenant(merchant_admin_m1, ops_admin):
    from accounts.models import User

    make_user("m1_other_admin", Role.MERCHANT_ADMIN, "merchant:m_1")
    make_user("m2_admin", Role.MERCHANT_ADMIN, "merchant:m_2")
    qs = User.objects.filter(role=Role.MERCHANT_ADMIN)
    mine = restrict_queryset(qs, merchant_admin_m1, merchant="scope_id")
    assert set(mine.values_list("scope_id", flat=True)) == {"m_1"}
    assert restrict_queryset(qs, ops_admin, merchant="scope_id").count() == qs.count()
    # A model without a merchant key shows a merchant nothing, never everything.
    assert restrict_queryset(qs, merchant_admin_m1, agent="scope_id").count() == 0
