"""Validation of one incoming recommendation (API item or Kafka message), shared by both
paths: the proposed action is checked by the ops actions' own type, target and parameter
rules, so a recommendation that could not become an action is refused at the door."""

import re
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.errors import ValidationFailed
from opsactions import policy
from opsactions.choices import HoldKind
from opsactions.params import params_validate
from sira.choices import Priority, RecType, action_type_of

_EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:+\-]{1,64}$")
MAX_FEATURES = 50


@extend_schema_field(OpenApiTypes.NUMBER)
class UnitDecimalField(serializers.Field):
    """A number in [0, 1] kept exactly (JSON number or string), at most 4 decimals."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            raise serializers.ValidationError("A number between 0 and 1.")
        try:
            value = Decimal(str(data))
        except InvalidOperation:
            raise serializers.ValidationError("A number between 0 and 1.")
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
            raise serializers.ValidationError("A number between 0 and 1.")
        if value != value.quantize(Decimal("0.0001")):
            raise serializers.ValidationError("At most 4 decimals.")
        return value

    def to_representation(self, value):
        return float(value)


@extend_schema_field(OpenApiTypes.NUMBER)
class SignedDecimalField(UnitDecimalField):
    """A contribution: a number in [-1, 1]."""

    def to_internal_value(self, data):
        negative = isinstance(data, int | float) and data < 0
        if isinstance(data, str) and data.startswith("-"):
            negative, data = True, data[1:]
        elif negative:
            data = -data
        value = super().to_internal_value(data)
        return -value if negative else value


class _Strict(serializers.Serializer):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Must be an object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class FeatureIn(_Strict):
    name = serializers.RegexField(r"^[A-Za-z0-9_.:\-]{1,64}$")
    value = serializers.CharField(max_length=64)
    contribution = SignedDecimalField()

    def to_internal_value(self, data):
        # A feature value may arrive as a JSON number: kept as its text, never as a float.
        if isinstance(data, dict) and isinstance(data.get("value"), int | float):
            if not isinstance(data["value"], bool):
                data = {**data, "value": str(data["value"])}
        return super().to_internal_value(data)


class ExplanationIn(_Strict):
    summary = serializers.CharField(max_length=500)
    features = FeatureIn(many=True, allow_empty=True, max_length=MAX_FEATURES)


class ModelIn(_Strict):
    name = serializers.RegexField(_NAME_RE)
    version = serializers.RegexField(_NAME_RE)


class ActionIn(_Strict):
    action_type = serializers.CharField(max_length=32)
    params = serializers.JSONField()


class MoneyIn(_Strict):
    amount = serializers.RegexField(r"^[0-9]{1,14}(\.[0-9]{1,4})?$")
    currency = serializers.RegexField(r"^[A-Z]{3}$")


class ImpactIn(_Strict):
    cost_savings = MoneyIn(required=False)
    risk_reduction = UnitDecimalField(required=False)


class RecommendationIn(_Strict):
    """The contract's recommendation (shared/contracts/api.md, SIRA section)."""

    external_id = serializers.RegexField(_EXTERNAL_ID_RE)
    type = serializers.ChoiceField(choices=RecType.choices)
    target = serializers.CharField(max_length=80)
    priority = serializers.ChoiceField(choices=Priority.choices)
    confidence = UnitDecimalField()
    action = ActionIn()
    explanation = ExplanationIn()
    model = ModelIn()
    impact = ImpactIn(required=False)
    valid_until = serializers.DateTimeField()


def _flatten(errors, prefix=""):
    """DRF's nested errors as {"action.params.percent": [...]} (one name per field)."""
    flat = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = prefix if key == "non_field_errors" and prefix else f"{prefix}{key}"
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            flat.update(_flatten(value, f"{name}."))
        return {k.rstrip("."): v for k, v in flat.items()}
    if isinstance(errors, list):
        if errors and all(isinstance(e, str) for e in errors):
            return {prefix: [str(e) for e in errors]}
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}{index}."))
        return flat
    return {prefix: [str(errors)]}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value


def recommendation_validate(data, *, now=None):
    """Check one recommendation; returns the clean fields or raises ValidationFailed whose
    `errors` name each bad field (dotted: `action.params.percent`)."""
    now = now or timezone.now()
    serializer = RecommendationIn(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(
            "Invalid recommendation.", code="invalid", errors=_flatten(serializer.errors)
        )
    clean = serializer.validated_data
    errors = {}
    action = clean["action"]
    expected = action_type_of(clean["type"])
    if action["action_type"] != expected:
        errors["action.action_type"] = [f"A {clean['type']} recommendation proposes {expected}."]
    scope = None
    if not errors:
        try:
            _, scope = policy.request_target(expected, clean["target"])
        except ValidationFailed as exc:
            errors.update(exc.errors or {"target": [exc.detail]})
    params = action["params"]
    if expected == "SET_HOLD" and isinstance(params, dict) and "kind" not in params:
        # The contract's example omits `kind`: a percent hold is meant when `percent` is given.
        if "percent" in params:
            params = {**params, "kind": HoldKind.PERCENT}
    clean_params = None
    if not errors:
        try:
            clean_params = params_validate(expected, params)
        except ValidationFailed as exc:
            errors.update({f"action.{k}": v for k, v in (exc.errors or {}).items()})
    if clean["valid_until"] <= now:
        errors["valid_until"] = ["Must be in the future."]
    if errors:
        raise ValidationFailed("Invalid recommendation.", code="invalid", errors=errors)
    return {
        "external_id": clean["external_id"],
        "rec_type": clean["type"],
        "target": str(scope),
        "target_kind": scope.kind,
        "target_id": scope.id,
        "target_country": policy.target_country(scope),
        "priority": clean["priority"],
        "confidence": clean["confidence"],
        "action_type": expected,
        "action_params": clean_params,
        "explanation": _jsonable(dict(clean["explanation"])),
        "model_name": clean["model"]["name"],
        "model_version": clean["model"]["version"],
        "impact": _jsonable(dict(clean.get("impact") or {})),
        "valid_until": clean["valid_until"],
    }
