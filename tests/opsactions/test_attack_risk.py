"""Requests shaped to dodge the risk rules: bad durations, amounts written to slip under a
threshold, blast radius and hold size, split requests; the quorum must follow the risk.
"""

import pytest

from common.errors import Conflict, ValidationFailed
from opsactions import services
from opsactions.choices import ActionStatus
from opsactions.models import (
    OpsAction,
    PayoutControl,
)
from tests.opsactions.adversary import (
    FREEZE,
    URL,
    approve_all,
    assert_refused,
    create,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        "-PT6H",
        "PT0S",
        "P0D",
        "PT0.0000001S",
        "P99999999999D",
        "P999999999D",
        "PT99999999999999999999H",
        "P1Y",
        "P1W",
        "6h",
        "21600",
        "P",
        "PT",
        "PT1.5S",
    ],
)
def test_bad_expires_after_is_400_never_500(crew, client_for, value):
    response = client_for(crew["ops1"]).post(URL, {**FREEZE, "expires_after": value}, format="json")
    assert response.status_code == 400, (value, response.status_code)
    assert "expires_after" in response.json()["errors"]
    assert not OpsAction.objects.exists()


def test_expires_after_as_a_number_is_400(crew, client_for):
    response = client_for(crew["ops1"]).post(URL, {**FREEZE, "expires_after": 5}, format="json")
    assert response.status_code == 400


def test_effect_duration_is_bound_to_the_hash_exactly(crew):
    # The hash carries whole seconds, so a fraction (an unapproved difference) is refused.
    assert_refused(
        lambda: create(crew["ops1"], {"target": "merchant:m_h1"}, expires_after="PT1.5S"),
        ValidationFailed,
        "invalid",
    )
    one = create(crew["ops1"], {"target": "merchant:m_h1"}, expires_after="PT6H")
    assert one.effect_duration.total_seconds() == 6 * 3600


@pytest.mark.parametrize(
    "target,params,risk",
    [
        (
            "merchant:m_r",
            {"transaction_id": "t1", "amount": "1000000", "currency": "XOF"},
            "medium",
        ),
        (
            "merchant:m_r",
            {"transaction_id": "t1", "amount": "1000000.0001", "currency": "XOF"},
            "high",
        ),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "1E+7", "currency": "XOF"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "2000", "currency": "EUR"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "2000", "currency": "USD"}, "high"),
        ("merchant:m_r", {"transaction_id": "t1", "amount": "5", "currency": "ZZZ"}, "high"),
        ("platform", {"transaction_id": "t1", "amount": "1000001", "currency": "XAF"}, "high"),
    ],
)
def test_reversal_risk_follows_amount_per_currency(crew, target, params, risk):
    action = create(
        crew["fin1"],
        {
            "action_type": "REVERSE_TRANSACTION",
            "target": target,
            "params": {**params, "reason": "duplicate"},
        },
    )
    assert action.risk_level == risk
    assert action.required_approvals == {"medium": 2, "high": 3}[risk]
    assert action.required_role == ("finance_ops" if risk == "high" else "")


def test_lowercase_or_float_amounts_cannot_dodge_the_threshold(crew, client_for):
    client = client_for(crew["fin1"])
    for params in [
        {"amount": "2000", "currency": "eur"},
        {"amount": 2000000.0, "currency": "XOF"},
        {"amount": "NaN", "currency": "XOF"},
        {"amount": "-5", "currency": "XOF"},
    ]:
        body = {
            **FREEZE,
            "action_type": "REVERSE_TRANSACTION",
            "params": {"transaction_id": "t1", "reason": "x", **params},
        }
        assert client.post(URL, body, format="json").status_code == 400, params


@pytest.mark.parametrize(
    "action_type,target,risk",
    [
        ("PAUSE_PAYOUT", "platform", "critical"),
        ("PAUSE_PAYOUT", " platform ", "critical"),
        ("PAUSE_PAYOUT", "region:SN", "high"),
        ("PAUSE_PAYOUT", "bank:b_1", "high"),
        ("PAUSE_PAYOUT", "merchant:m_1", "medium"),
        ("RESUME_PAYOUT", "platform", "critical"),
        ("RESUME_PAYOUT", "region:SN", "high"),
    ],
)
def test_payout_blast_radius_sets_the_quorum(crew, action_type, target, risk):
    action = create(crew["ops1"], {"action_type": action_type, "target": target, "params": {}})
    assert action.risk_level == risk
    assert action.required_approvals == {"medium": 2, "high": 3, "critical": 4}[risk]


def test_critical_action_needs_four_others_including_ops_admin(crew):
    action = create(
        crew["pay1"], {"action_type": "PAUSE_PAYOUT", "target": "platform", "params": {}}
    )
    approve_all(action, crew["pay2"], crew["fin1"], crew["fin2"])
    assert action.status == ActionStatus.PENDING_APPROVAL  # four votes, no ops_admin
    assert_refused(
        lambda: services.action_execute(actor=crew["ops1"], action_id=action.pk),
        Conflict,
        "action_pending_approval",
    )
    approve_all(action, crew["ops2"])
    assert action.status == ActionStatus.APPROVED
    services.action_execute(actor=crew["pay1"], action_id=action.pk)
    assert PayoutControl.objects.get(scope="platform").paused


@pytest.mark.parametrize(
    "params,risk",
    [
        ({"kind": "percent", "percent": "50", "days": 30}, "medium"),
        ({"kind": "percent", "percent": "50.01", "days": 30}, "high"),
        ({"kind": "percent", "percent": "10", "days": 31}, "high"),
        ({"kind": "amount", "amount": "500000", "currency": "XOF", "days": 3}, "medium"),
        ({"kind": "amount", "amount": "99999999999", "currency": "XOF", "days": 3}, "high"),
        ({"kind": "amount", "amount": "100000", "currency": "EUR", "days": 3}, "high"),
        ({"kind": "amount", "amount": "10", "currency": "ZZZ", "days": 3}, "high"),
    ],
)
def test_hold_risk_rises_with_its_size(crew, params, risk):
    action = create(crew["ops1"], {"action_type": "SET_HOLD", "params": params})
    assert action.risk_level == risk


def test_split_requests_cannot_run_side_by_side(crew):
    create(crew["ops1"], {"action_type": "PAUSE_PAYOUT", "target": "platform", "params": {}})
    assert_refused(
        lambda: create(
            crew["pay1"],
            {
                "action_type": "PAUSE_PAYOUT",
                "target": "platform",
                "params": {"reason_code": "other"},
            },
        ),
        Conflict,
        "open_action_exists",
    )
    body = {
        "action_type": "REVERSE_TRANSACTION",
        "params": {"transaction_id": "t9", "amount": "10", "currency": "XOF", "reason": "x"},
    }
    create(crew["fin1"], body)
    assert_refused(lambda: create(crew["fin2"], body), Conflict, "open_action_exists")
