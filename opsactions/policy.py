"""THE ops-action policy, in one place: who may request, approve and execute each
type, its targets, its risk, and how many approvals that risk needs.

Reading guide:
- REQUIRED_APPROVALS maps risk to quorum: low 1, medium 2, high 3, critical 4.
- Each ActionPolicy row says which target kinds the type accepts, its base
  risk (parameters can raise it, see `risk_of`), which roles may request /
  approve / execute it, and which role must be among the approvers when the
  risk is high or critical.
- merchant_admin and agent never appear: tenants cannot act on the platform.
  sira_service may only *request*, and only tightening actions (pause, freeze,
  hold, route, threshold, float limit, reconciliation): loosening or moving
  money (resume, unfreeze, release, reversal) always starts with a human.
- A user acts with their `role`; superusers count as their role (a superuser
  without a role may do nothing here) and are never exempt from the
  maker-checker rules. The role's group must also carry the matching
  accounts permission (request/approve/execute_ops_action): removing the
  permission from a group disables the role here without a code change.
- Region-scoped staff (scope region:CC) may act only on targets known to be in
  their country: `region:CC`, and agents registered in CC (agents app). The
  country of a merchant or bank is not known to this product, so such targets
  (and `platform`) are refused for them (fail closed; 403 `target_out_of_scope`).
  Staff with any other non-platform scope (bank-scoped finance_ops) may not act.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from accounts.choices import Role, ScopeKind
from accounts.scope import Scope, user_scope
from common.errors import ValidationFailed
from opsactions.choices import ActionType, RiskLevel

REQUIRED_APPROVALS = {
    RiskLevel.LOW: 1,
    RiskLevel.MEDIUM: 2,
    RiskLevel.HIGH: 3,
    RiskLevel.CRITICAL: 4,
}

_RISK_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL]

OPS, PAY, FIN, SIRA = Role.OPS_ADMIN, Role.PAY_ADMIN, Role.FINANCE_OPS, Role.SIRA_SERVICE

PERM_REQUEST = "accounts.request_ops_action"
PERM_APPROVE = "accounts.approve_ops_action"
PERM_EXECUTE = "accounts.execute_ops_action"
# The sira_service group carries no request_ops_action (accounts/roles.py): its requests
# are applied recommendations, gated by the permission it does carry.
PERM_REQUEST_BY_ROLE = {SIRA: "accounts.publish_sira_recommendation"}


@dataclass(frozen=True)
class ActionPolicy:
    """Targets, base risk and eligible roles of one action type."""

    targets: frozenset
    base_risk: str
    request: frozenset
    approve: frozenset
    execute: frozenset = frozenset({OPS, PAY})
    # Role that must be among the approvers when the risk is high or critical.
    required_approver_role: str = OPS
    # Reversible types may carry `expires_after` and be rolled back.
    reversible: bool = True
    # Param that makes two actions of one type on one target distinct
    # (two reversals of different transactions of one merchant may be open).
    subject_param: str = ""


POLICIES = {
    ActionType.PAUSE_PAYOUT: ActionPolicy(
        targets=frozenset(
            {ScopeKind.MERCHANT, ScopeKind.BANK, ScopeKind.REGION, ScopeKind.PLATFORM}
        ),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, SIRA}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.RESUME_PAYOUT: ActionPolicy(
        targets=frozenset(
            {ScopeKind.MERCHANT, ScopeKind.BANK, ScopeKind.REGION, ScopeKind.PLATFORM}
        ),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.FREEZE_MERCHANT: ActionPolicy(
        targets=frozenset({ScopeKind.MERCHANT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, SIRA}),
        approve=frozenset({OPS, PAY}),
    ),
    ActionType.UNFREEZE_MERCHANT: ActionPolicy(
        targets=frozenset({ScopeKind.MERCHANT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY}),
        approve=frozenset({OPS, PAY}),
    ),
    ActionType.FREEZE_AGENT: ActionPolicy(
        targets=frozenset({ScopeKind.AGENT}),
        base_risk=RiskLevel.LOW,
        request=frozenset({OPS, PAY, SIRA}),
        approve=frozenset({OPS, PAY}),
    ),
    ActionType.UNFREEZE_AGENT: ActionPolicy(
        targets=frozenset({ScopeKind.AGENT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY}),
        approve=frozenset({OPS, PAY}),
    ),
    ActionType.SET_HOLD: ActionPolicy(
        targets=frozenset({ScopeKind.MERCHANT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, FIN, SIRA}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.RELEASE_HOLD: ActionPolicy(
        targets=frozenset({ScopeKind.MERCHANT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, FIN}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.ROUTE_PAYOUT: ActionPolicy(
        targets=frozenset({ScopeKind.REGION}),
        base_risk=RiskLevel.HIGH,
        request=frozenset({OPS, PAY, SIRA}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.ADJUST_THRESHOLD: ActionPolicy(
        targets=frozenset({ScopeKind.PLATFORM, ScopeKind.REGION, ScopeKind.MERCHANT}),
        base_risk=RiskLevel.LOW,
        request=frozenset({OPS, PAY, SIRA}),
        approve=frozenset({OPS, PAY}),
        subject_param="key",
    ),
    ActionType.ADJUST_AGENT_FLOAT_LIMIT: ActionPolicy(
        targets=frozenset({ScopeKind.AGENT}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, FIN, SIRA}),
        approve=frozenset({OPS, PAY, FIN}),
    ),
    ActionType.FORCE_RECONCILIATION: ActionPolicy(
        targets=frozenset({ScopeKind.BANK}),
        base_risk=RiskLevel.LOW,
        request=frozenset({OPS, PAY, FIN, SIRA}),
        approve=frozenset({OPS, PAY, FIN}),
        reversible=False,
        subject_param="date",
    ),
    ActionType.REVERSE_TRANSACTION: ActionPolicy(
        targets=frozenset({ScopeKind.MERCHANT, ScopeKind.PLATFORM}),
        base_risk=RiskLevel.MEDIUM,
        request=frozenset({OPS, PAY, FIN}),
        approve=frozenset({OPS, PAY, FIN}),
        required_approver_role=FIN,
        reversible=False,
        subject_param="transaction_id",
    ),
}


def reversal_high_risk_amount(currency):
    """Amount above which a reversal in `currency` is high risk; None if not configured."""
    return settings.OPS_REVERSAL_HIGH_RISK_AMOUNTS.get(currency)


def _raise(level, at_least):
    return max(level, at_least, key=_RISK_ORDER.index)


def risk_of(action_type, target, params):
    """Risk of an action: the type's base risk, raised by target and parameters."""
    policy = POLICIES[action_type]
    risk = policy.base_risk
    if action_type in (ActionType.PAUSE_PAYOUT, ActionType.RESUME_PAYOUT):
        # Blast radius: the whole platform is critical, a country or a bank high.
        if target.kind == ScopeKind.PLATFORM:
            risk = _raise(risk, RiskLevel.CRITICAL)
        elif target.kind in (ScopeKind.REGION, ScopeKind.BANK):
            risk = _raise(risk, RiskLevel.HIGH)
    elif action_type == ActionType.ADJUST_THRESHOLD and target.kind == ScopeKind.PLATFORM:
        risk = _raise(risk, RiskLevel.MEDIUM)
    elif action_type == ActionType.SET_HOLD:
        big_percent = Decimal(params.get("percent", "0")) > Decimal("50")
        # An amount hold is as heavy as a reversal of that amount (same per-currency limit;
        # unconfigured currency: high), else a huge fixed hold would pass at medium.
        big_amount = False
        if "amount" in params:
            limit = reversal_high_risk_amount(params["currency"])
            big_amount = limit is None or Decimal(params["amount"]) > limit
        if big_percent or big_amount or int(params["days"]) > 30:
            risk = _raise(risk, RiskLevel.HIGH)
    elif action_type == ActionType.REVERSE_TRANSACTION:
        limit = reversal_high_risk_amount(params["currency"])
        # An unconfigured currency is treated as high: fail towards more eyes.
        if limit is None or Decimal(params["amount"]) > limit:
            risk = _raise(risk, RiskLevel.HIGH)
    return risk


def required_approvals(risk):
    return REQUIRED_APPROVALS[risk]


def required_approver_role(action_type, risk):
    """The role that must be among the approvers, or None for low/medium risk."""
    if risk in (RiskLevel.HIGH, RiskLevel.CRITICAL):
        return POLICIES[action_type].required_approver_role
    return None


def target_country(target):
    """The country an action's target belongs to, when it is known: a region target's
    own code, an agent's registered country (agents app); "" otherwise."""
    if target.kind == ScopeKind.REGION:
        return target.id
    if target.kind == ScopeKind.AGENT:
        from agents.models import Agent  # lower layer; one indexed primary-key read

        country = Agent.objects.filter(agent_id=target.id).values_list("country", flat=True)
        country = country.first()
        return country if country and country != "ZZ" else ""
    return ""


def _in_reach(user, target):
    """Scope rule: platform staff reach every target; region staff only targets known to be
    in their country (region:CC, or an agent registered in CC)."""
    own = user_scope(user)
    if own.is_platform:
        return True
    if own.kind == ScopeKind.REGION:
        return target_country(target) == own.id
    return False


def _eligible(user, roles, perm, target):
    if not (user and user.is_authenticated and user.is_active):
        return False, "not_authenticated"
    if user.role not in roles or not user.has_perm(perm):
        return False, "role_not_eligible"
    if not _in_reach(user, target):
        return False, "target_out_of_scope"
    return True, ""


def can_request(user, action_type, target):
    """(allowed, reason code) for requesting `action_type` on `target`."""
    perm = PERM_REQUEST_BY_ROLE.get(getattr(user, "role", ""), PERM_REQUEST)
    return _eligible(user, POLICIES[action_type].request, perm, target)


def can_approve(user, action_type, target):
    """(allowed, reason code) for voting (approve or reject); self-votes are refused elsewhere."""
    return _eligible(user, POLICIES[action_type].approve, PERM_APPROVE, target)


def can_execute(user, action_type, target):
    """(allowed, reason code) for executing or rolling back."""
    return _eligible(user, POLICIES[action_type].execute, PERM_EXECUTE, target)


def ops_roles():
    """Roles that may see the ops-action console at all."""
    return frozenset().union(*(p.request | p.approve | p.execute for p in POLICIES.values()))


def parse_target(text):
    """Parse a target with the platform's scope syntax (400 naming `target`)."""
    return Scope.parse(text, field="target")


def request_target(action_type, target):
    """(ActionType, Scope) of a request, or a 400 naming `action_type` or `target`: a known
    type, a target in the scope syntax, of a kind this type applies to."""
    if action_type not in ActionType.values:
        raise ValidationFailed(
            "Unknown action type.", errors={"action_type": [f"Unknown type {action_type!r}."]}
        )
    action_type = ActionType(action_type)
    scope = parse_target(target)
    rule = POLICIES[action_type]
    if scope.kind not in rule.targets:
        kinds = ", ".join(sorted(rule.targets))
        raise ValidationFailed(
            "Invalid target.",
            code="invalid_target",
            errors={"target": [f"{action_type} applies to targets of kind: {kinds}."]},
        )
    return action_type, scope
