"""Request an ops action: pick a type, fill the form generated from its parameter schema,
see the risk and quorum the policy gives it before submitting (htmx preview), submit to
services.action_create."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import ScopeKind
from accounts.scope import is_platform_staff, user_scope
from common.errors import DomainError
from dashboard.selectors import known_scopes
from opsactions import policy, services
from opsactions.audit import context_from_request
from opsactions.choices import ActionType
from opsactions.selectors import action_preview, requestable_types
from opsactions.web.access import ops_page
from opsactions.web.params_form import param_fields, params_from_post, posted_values

# One line per type for the picker: what it does to live money flows.
TYPE_HELP = {
    ActionType.PAUSE_PAYOUT: gettext_lazy(
        "Stop payouts of a merchant, a bank, a country or the whole platform."
    ),
    ActionType.RESUME_PAYOUT: gettext_lazy("Lift a payout pause."),
    ActionType.FREEZE_MERCHANT: gettext_lazy("Block a merchant's payments and payouts."),
    ActionType.UNFREEZE_MERCHANT: gettext_lazy("Reactivate a frozen merchant."),
    ActionType.FREEZE_AGENT: gettext_lazy("Suspend a cash-in/cash-out agent."),
    ActionType.UNFREEZE_AGENT: gettext_lazy("Reactivate a suspended agent."),
    ActionType.SET_HOLD: gettext_lazy(
        "Withhold a percentage or an amount of a merchant's settlements."
    ),
    ActionType.RELEASE_HOLD: gettext_lazy("Release a merchant's settlement hold."),
    ActionType.ROUTE_PAYOUT: gettext_lazy("Send a country's payouts through another bank."),
    ActionType.ADJUST_THRESHOLD: gettext_lazy("Override an alert or risk threshold."),
    ActionType.ADJUST_AGENT_FLOAT_LIMIT: gettext_lazy("Change an agent's float limit."),
    ActionType.FORCE_RECONCILIATION: gettext_lazy("Re-run a bank's reconciliation for a day."),
    ActionType.REVERSE_TRANSACTION: gettext_lazy("Refund a transaction to the payer."),
}

TARGET_EXAMPLES = {
    ScopeKind.PLATFORM: "platform",
    ScopeKind.MERCHANT: "merchant:m_1042",
    ScopeKind.AGENT: "agent:a_0001",
    ScopeKind.BANK: "bank:b_sgbs",
    ScopeKind.REGION: "region:SN",
}

# Automatic end of the effect (`expires_after`, ISO 8601); the service bounds it.
DURATIONS = [
    ("PT1H", gettext_lazy("1 hour"), 1),
    ("PT6H", gettext_lazy("6 hours"), 6),
    ("PT24H", gettext_lazy("24 hours"), 24),
    ("P3D", gettext_lazy("3 days"), 72),
    ("P7D", gettext_lazy("7 days"), 168),
    ("P30D", gettext_lazy("30 days"), 720),
]

# Field errors shown next to the request's own fields; anything else goes on top.
REQUEST_FIELDS = ("action_type", "target", "reason", "expires_after")


def _type_cards(user):
    rules = policy.POLICIES
    return [
        {
            "value": t,
            "label": t.label,
            "help": TYPE_HELP.get(t, ""),
            "targets": sorted(rules[t].targets),
            "risk": rules[t].base_risk,
        }
        for t in requestable_types(user)
    ]


def _target_hint(user, action_type):
    """Examples and, for platform staff, known scopes of the kinds this type applies to."""
    kinds = sorted(policy.POLICIES[action_type].targets)
    own = user_scope(user)
    if own.kind == ScopeKind.REGION:
        hint = _("Your scope is %(scope)s: region:%(cc)s, or an agent registered in %(cc)s.") % {
            "scope": own,
            "cc": own.id,
        }
        return hint, [f"region:{own.id}"] if ScopeKind.REGION in kinds else []
    examples = ", ".join(TARGET_EXAMPLES[k] for k in kinds)
    options = []
    if is_platform_staff(user):
        for kind in kinds:
            if kind == ScopeKind.PLATFORM:
                options.append("platform")
            else:
                options += [s["value"] for s in known_scopes(f"{kind}:", limit=40)]
    return _("Scope syntax, e.g. %(examples)s.") % {"examples": examples}, options


def _form_context(request, action_type, *, values=None, errors=None, error=""):
    data = request.POST if request.method == "POST" else {}
    hint, options = _target_hint(request.user, action_type)
    params = params_from_post(action_type, data) if data else {}
    preview = action_preview(
        request.user, action_type=action_type, target=data.get("target", ""), params=params
    )
    return {
        "action_type": action_type,
        "type_label": action_type.label,
        "type_help": TYPE_HELP.get(action_type, ""),
        "fields": param_fields(action_type, values=values, errors=errors),
        "target": data.get("target", ""),
        "reason": data.get("reason", ""),
        "expires_after": data.get("expires_after", ""),
        "target_hint": hint,
        "target_options": options,
        "reversible": policy.POLICIES[action_type].reversible,
        "durations": [
            (v, label)
            for v, label, hours in DURATIONS
            if hours <= settings.OPS_ACTION_MAX_EFFECT_HOURS
        ],
        "errors": {k: v for k, v in (errors or {}).items() if k in REQUEST_FIELDS},
        "other_errors": [
            m
            for k, v in (errors or {}).items()
            if k not in REQUEST_FIELDS and not k.startswith("params.")
            for m in v
        ],
        "error": error,
        "preview": preview,
        "approver_roles": sorted(policy.POLICIES[action_type].approve),
    }


@ops_page
def action_new(request):
    """The request form: a type picker, then the type's form; POST requests the action."""
    allowed = requestable_types(request.user)
    if request.method == "POST":
        return _submit(request, allowed)
    chosen = request.GET.get("type", "")
    if not chosen:
        return render(request, "opsactions/console_new.html", {"types": _type_cards(request.user)})
    if chosen not in ActionType.values:
        context = {"types": _type_cards(request.user), "error": _("Unknown action type.")}
        return render(request, "opsactions/console_new.html", context, status=400)
    if chosen not in allowed:
        raise PermissionDenied("Your role may not request this action type.")
    return render(
        request, "opsactions/console_form.html", _form_context(request, ActionType(chosen))
    )


def _submit(request, allowed):
    chosen = request.POST.get("action_type", "")
    if chosen not in ActionType.values:
        context = {"types": _type_cards(request.user), "error": _("Unknown action type.")}
        return render(request, "opsactions/console_new.html", context, status=400)
    action_type = ActionType(chosen)
    params = params_from_post(action_type, request.POST)
    try:
        action = services.action_create(
            actor=request.user,
            action_type=action_type,
            target=request.POST.get("target", ""),
            params=params,
            reason=request.POST.get("reason", ""),
            expires_after=request.POST.get("expires_after") or None,
            context=context_from_request(request),
        )
    except DomainError as exc:
        context = _form_context(
            request,
            action_type,
            values=posted_values(params),
            errors=exc.errors or {},
            error=f"{exc.detail} ({exc.code})",
        )
        return render(request, "opsactions/console_form.html", context, status=exc.status_code)
    messages.success(
        request,
        _("Action #%(id)s requested: it needs %(n)s approval(s) from people other than you.")
        % {"id": action.pk, "n": action.required_approvals},
    )
    return redirect("ops-detail", action_id=action.pk)


@ops_page
def action_preview_partial(request):
    """The risk level and quorum the policy gives the form's current values (htmx partial;
    creates nothing)."""
    chosen = request.POST.get("action_type", "")
    if request.method != "POST" or chosen not in ActionType.values:
        return render(
            request,
            "opsactions/console_preview.html",
            {"error": _("Choose an action type.")},
            status=400,
        )
    action_type = ActionType(chosen)
    preview = action_preview(
        request.user,
        action_type=action_type,
        target=request.POST.get("target", ""),
        params=params_from_post(action_type, request.POST),
    )
    return render(
        request,
        "opsactions/console_preview.html",
        {"preview": preview, "approver_roles": sorted(policy.POLICIES[action_type].approve)},
    )
