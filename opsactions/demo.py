"""Demo ops actions in every state, requested and decided by the demo users through the real
services (so their audit trail is genuine). Used by `manage.py seed_demo`; runs only while
there is no ops action at all, so it never mixes with real requests."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from opsactions import services
from opsactions.audit import AuditContext
from opsactions.models import OpsAction


def _request(users, who, action_type, target, params, reason, **kw):
    return services.action_create(
        actor=users[who],
        action_type=action_type,
        target=target,
        params=params,
        reason=reason,
        context=AuditContext.system("demo"),
        **kw,
    )


def _approve(users, action, *who):
    for name in who:
        services.action_approve(
            actor=users[name], action_id=action.pk, comment="Checked.", context=None
        )


def seed_demo_actions():
    """Create the demo actions unless any action exists; returns how many were created."""
    names = ["ops_admin", "ops_admin_b", "pay_admin", "finance_ops", "region_sn", "sira"]
    users = {u.username: u for u in User.objects.filter(username__in=names, is_active=True)}
    if len(users) < len(names) or OpsAction.objects.exists():
        return 0
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    with transaction.atomic():
        # Waiting for approvers.
        _request(
            users,
            "ops_admin",
            "FREEZE_MERCHANT",
            "merchant:m_1042",
            {"reason_code": "chargeback_spike"},
            "14 chargebacks in 2 hours, 6x the merchant's usual rate.",
        )
        hold = _request(
            users,
            "finance_ops",
            "SET_HOLD",
            "merchant:m_1007",
            {"kind": "percent", "percent": "60", "days": 14},
            "Settlement risk after a spike of refund requests.",
        )
        _approve(users, hold, "pay_admin")
        pause = _request(
            users,
            "region_sn",
            "PAUSE_PAYOUT",
            "region:SN",
            {"reason_code": "bank_outage"},
            "Partner bank settlement file missing since 06:00.",
            expires_after="PT6H",
        )
        _approve(users, pause, "ops_admin")
        # Approved, ready to execute.
        agent = _request(
            users,
            "region_sn",
            "FREEZE_AGENT",
            "agent:a_0001",
            {"reason_code": "fraud_suspected"},
            "Cash-out pattern matches a known mule ring.",
        )
        _approve(users, agent, "ops_admin")
        # Executed.
        threshold = _request(
            users,
            "sira",
            "ADJUST_THRESHOLD",
            "platform",
            {"key": "fraud_rate_bps.max", "value": "45"},
            "SIRA: fraud rate alert fires on normal weekend traffic.",
        )
        _approve(users, threshold, "ops_admin", "pay_admin")
        services.action_execute(actor=users["ops_admin_b"], action_id=threshold.pk)
        recon = _request(
            users,
            "finance_ops",
            "FORCE_RECONCILIATION",
            "bank:b_cbao",
            {"date": yesterday},
            "Bank statement arrived late; 37 unmatched payouts.",
        )
        _approve(users, recon, "ops_admin_b")
        services.action_execute(actor=users["pay_admin"], action_id=recon.pk)
        # Executed, then rolled back by two people.
        paused = _request(
            users,
            "pay_admin",
            "PAUSE_PAYOUT",
            "merchant:m_1013",
            {"reason_code": "compliance"},
            "KYC documents expired.",
        )
        _approve(users, paused, "ops_admin", "ops_admin_b")
        services.action_execute(actor=users["pay_admin"], action_id=paused.pk)
        services.action_rollback(
            actor=users["pay_admin"], action_id=paused.pk, reason="Documents received."
        )
        services.action_rollback(
            actor=users["ops_admin"], action_id=paused.pk, reason="Verified the new documents."
        )
        # Rejected and cancelled.
        reversal = _request(
            users,
            "finance_ops",
            "REVERSE_TRANSACTION",
            "merchant:m_1042",
            {
                "transaction_id": "tx_8F3K2",
                "amount": "2500000",
                "currency": "XOF",
                "reason": "Duplicate charge reported by the payer.",
            },
            "Customer complaint #4471.",
        )
        services.action_reject(
            actor=users["ops_admin"],
            action_id=reversal.pk,
            reason="Not a duplicate: two separate orders.",
        )
        route = _request(
            users,
            "pay_admin",
            "ROUTE_PAYOUT",
            "region:CI",
            {"bank_id": "b_ecobank_ci"},
            "Primary bank maintenance window tonight.",
        )
        services.action_cancel(
            actor=users["pay_admin"], action_id=route.pk, reason="Maintenance postponed."
        )
    return OpsAction.objects.count()
