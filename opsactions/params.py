"""Parameter schemas of the 13 action types: one DRF serializer each.

`params_validate` returns the canonical form (decimals and dates as strings,
unknown keys refused) that is frozen on the action and hashed; approvals bind
to that hash.
"""

import re
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.errors import ValidationFailed
from opsactions.choices import ActionType, HoldKind, ReasonCode

_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def decimal_text(value):
    """Plain decimal text, no exponent: Decimal("1E+3") -> "1000"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class _Strict(serializers.Serializer):
    """Refuses keys it does not declare: a typo must not be silently ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["params must be an object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown parameter."] for key in unknown})
        return super().to_internal_value(data)


class IdField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(_ID_RE, max_length=64, **kwargs)


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(r"^[A-Z]{3}$", **kwargs)


class MoneyField(serializers.DecimalField):
    """Exact amount: at most 4 decimals, below 10^14, parsed from a string, never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            raise serializers.ValidationError("Send amounts as decimal strings, not floats.")
        return super().to_internal_value(data)


class ReasonCodeParams(_Strict):
    reason_code = serializers.ChoiceField(
        choices=ReasonCode.choices, default=ReasonCode.OTHER, label=_("Reason code")
    )


class RequiredReasonCodeParams(_Strict):
    reason_code = serializers.ChoiceField(choices=ReasonCode.choices, label=_("Reason code"))


class EmptyParams(_Strict):
    pass


class SetHoldParams(_Strict):
    kind = serializers.ChoiceField(choices=HoldKind.choices, label=_("Kind"))
    percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        required=False,
        label=_("Percent"),
        help_text=_("When kind is percent: 0.01 to 100. Above 50 the risk is high."),
    )
    amount = MoneyField(
        min_value=Decimal("0.0001"),
        max_value=Decimal("99999999999999"),
        required=False,
        label=_("Amount"),
        help_text=_("When kind is amount, with its currency."),
    )
    currency = CurrencyField(
        required=False, label=_("Currency"), help_text=_("When kind is amount: ISO code (XOF).")
    )
    days = serializers.IntegerField(
        min_value=1,
        max_value=180,
        label=_("Days"),
        help_text=_("1 to 180. Above 30 the risk is high."),
    )

    def validate(self, attrs):
        if attrs["kind"] == HoldKind.PERCENT:
            if "percent" not in attrs:
                raise serializers.ValidationError({"percent": ["Required when kind=percent."]})
            if "amount" in attrs or "currency" in attrs:
                raise serializers.ValidationError({"amount": ["Not allowed when kind=percent."]})
        else:
            missing = {
                k: ["Required when kind=amount."] for k in ("amount", "currency") if k not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
            if "percent" in attrs:
                raise serializers.ValidationError({"percent": ["Not allowed when kind=amount."]})
        return attrs


class RoutePayoutParams(_Strict):
    bank_id = IdField(
        label=_("Bank ID"), help_text=_("The bank that will carry the country's payouts.")
    )


class AdjustThresholdParams(_Strict):
    key = serializers.RegexField(_KEY_RE, label=_("Key"), help_text=_("e.g. fraud_rate_bps.max"))
    value = serializers.DecimalField(max_digits=24, decimal_places=6, label=_("Value"))


class AgentFloatLimitParams(_Strict):
    float_limit = MoneyField(
        min_value=Decimal("0"), max_value=Decimal("99999999999999"), label=_("Float limit")
    )
    currency = CurrencyField(label=_("Currency"), help_text=_("ISO code (XOF)."))


class ForceReconciliationParams(_Strict):
    date = serializers.DateField(
        input_formats=["iso-8601"], label=_("Date"), help_text=_("Not in the future.")
    )

    def validate_date(self, value):
        if value > timezone.now().date():
            raise serializers.ValidationError("Cannot reconcile a future date.")
        return value


class ReverseTransactionParams(_Strict):
    transaction_id = IdField(label=_("Transaction ID"))
    amount = MoneyField(
        min_value=Decimal("0.0001"),
        max_value=Decimal("99999999999999"),
        label=_("Amount"),
        help_text=_("Above the currency's high-risk amount the risk is high."),
    )
    currency = CurrencyField(label=_("Currency"), help_text=_("ISO code (XOF)."))
    reason = serializers.CharField(max_length=500, label=_("Reason"))


PARAM_SCHEMAS = {
    ActionType.PAUSE_PAYOUT: ReasonCodeParams,
    ActionType.RESUME_PAYOUT: EmptyParams,
    ActionType.FREEZE_MERCHANT: RequiredReasonCodeParams,
    ActionType.UNFREEZE_MERCHANT: EmptyParams,
    ActionType.FREEZE_AGENT: RequiredReasonCodeParams,
    ActionType.UNFREEZE_AGENT: EmptyParams,
    ActionType.SET_HOLD: SetHoldParams,
    ActionType.RELEASE_HOLD: EmptyParams,
    ActionType.ROUTE_PAYOUT: RoutePayoutParams,
    ActionType.ADJUST_THRESHOLD: AdjustThresholdParams,
    ActionType.ADJUST_AGENT_FLOAT_LIMIT: AgentFloatLimitParams,
    ActionType.FORCE_RECONCILIATION: ForceReconciliationParams,
    ActionType.REVERSE_TRANSACTION: ReverseTransactionParams,
}


def _canonical(value):
    if isinstance(value, Decimal):
        return decimal_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def params_validate(action_type, params):
    """Validate `params` for `action_type`; returns the canonical dict or raises 400.

    Field errors are reported as `params.<name>` so the client knows which key.
    """
    serializer = PARAM_SCHEMAS[action_type](data=params if params is not None else {})
    if not serializer.is_valid():
        errors = {}
        for key, messages in serializer.errors.items():
            name = "params" if key == "non_field_errors" else f"params.{key}"
            if isinstance(messages, dict):
                messages = [f"{k}: {v}" for k, v in messages.items()]
            errors[name] = [str(m) for m in messages]
        raise ValidationFailed("Invalid parameters.", code="invalid_params", errors=errors)
    return {key: _canonical(value) for key, value in serializer.validated_data.items()}
