"""HTML fields generated from an action type's parameter serializer (opsactions/params.py),
and the posted values turned back into the `params` dict the service validates.

The serializer stays the only validator: the fields only carry its choices, required flags,
bounds and help so the browser can help before the round trip. Inputs are named
`param_<name>` because a parameter may share a name with the request's own fields
(REVERSE_TRANSACTION has a `reason`)."""

from dataclasses import dataclass, field

from django.conf import settings
from rest_framework import serializers

from opsactions.params import PARAM_SCHEMAS, CurrencyField

PREFIX = "param_"


@dataclass
class ParamField:
    """One parameter as the form renders it."""

    name: str
    label: str
    widget: str  # text, decimal, number, select, checkbox, date, datetime-local
    required: bool
    help: str = ""
    choices: list = field(default_factory=list)  # [(value, label)]
    attrs: dict = field(default_factory=dict)  # min, max, step, maxlength
    datalist: list = field(default_factory=list)
    value: str = ""
    errors: list = field(default_factory=list)

    @property
    def input_name(self):
        return PREFIX + self.name

    @property
    def input_id(self):
        return f"id_{PREFIX}{self.name}"


def _choice_label(value, label):
    # A choice without its own label (code, code): show "Fraud suspected" for fraud_suspected.
    if str(label) == str(value):
        text = str(value).replace("_", " ")
        return text[:1].upper() + text[1:]
    return label


def _describe(name, drf_field):
    widget, attrs, choices, datalist = "text", {}, [], []
    if isinstance(drf_field, serializers.BooleanField):
        widget = "checkbox"
    elif isinstance(drf_field, serializers.ChoiceField):
        widget = "select"
        choices = [(str(v), _choice_label(v, label)) for v, label in drf_field.choices.items()]
    elif isinstance(drf_field, serializers.DateTimeField):
        widget = "datetime-local"
    elif isinstance(drf_field, serializers.DateField):
        widget = "date"
    elif isinstance(drf_field, serializers.IntegerField):
        widget = "number"
        attrs["step"] = "1"
    elif isinstance(drf_field, serializers.DecimalField):
        # Text with a decimal keyboard, not type=number: the value travels as an exact
        # decimal string (a number input would round or reformat it).
        widget = "decimal"
    elif isinstance(drf_field, CurrencyField):
        datalist = sorted(settings.OPS_REVERSAL_HIGH_RISK_AMOUNTS)
        attrs["maxlength"] = "3"
    if widget in ("number", "decimal"):
        for bound in ("min_value", "max_value"):
            value = getattr(drf_field, bound, None)
            if value is not None:
                attrs[bound[:3]] = str(value)
    if widget == "text" and getattr(drf_field, "max_length", None):
        attrs.setdefault("maxlength", str(drf_field.max_length))
    initial = drf_field.default if drf_field.default is not serializers.empty else ""
    return ParamField(
        name=name,
        label=str(drf_field.label or name),
        widget=widget,
        required=bool(drf_field.required),
        help=str(drf_field.help_text or ""),
        choices=choices,
        attrs=attrs,
        datalist=datalist,
        value="" if initial is None else str(initial),
    )


def param_fields(action_type, *, values=None, errors=None):
    """The form fields of `action_type`'s parameters, filled with posted `values` (by
    parameter name) and the service's field errors (`params.<name>` keys)."""
    serializer = PARAM_SCHEMAS[action_type]()
    fields = []
    for name, drf_field in serializer.fields.items():
        described = _describe(name, drf_field)
        if values is not None:
            described.value = values.get(name, "")
        described.errors = list((errors or {}).get(f"params.{name}", []))
        fields.append(described)
    return fields


def params_from_post(action_type, data):
    """The `params` dict from a posted form: empty inputs left out (the serializer applies
    its defaults and required rules), checkboxes true or false, everything else as text."""
    params = {}
    for name, drf_field in PARAM_SCHEMAS[action_type]().fields.items():
        key = PREFIX + name
        if isinstance(drf_field, serializers.BooleanField):
            params[name] = key in data
            continue
        value = data.get(key, "")
        value = value.strip() if isinstance(value, str) else ""
        if value:
            params[name] = value
    return params


def posted_values(params):
    """Values to refill the form with after a refused submission."""
    return {k: ("on" if v is True else "" if v is False else str(v)) for k, v in params.items()}
