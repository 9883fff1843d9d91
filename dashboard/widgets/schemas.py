"""The config schema of each widget type: one declaration gives the validation (400s naming
the field as `config.<name>`), the JSON Schema of the OpenAPI document and the form the
home page generates to configure a widget.

A schema is a tuple of `Field`s; `validate_config` checks a config against its type's
schema and the widget's scope, fills the defaults and rejects unknown keys (a typo must be
a 400, never a silently ignored setting).
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _

from accounts.choices import ScopeKind
from common.errors import ValidationFailed
from dashboard.choices import Source
from dashboard.snapshots.choices import Granularity, SnapshotPeriod
from dashboard.snapshots.compute import TOP_N
from dashboard.snapshots.timeseries import MAX_RANGE, METRICS
from dashboard.widgets.choices import ListSource, MapMarker, TableEntity, WidgetType

_CURRENCY = r"[A-Z]{3}"
_COUNTRY = r"[A-Z]{2}"
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+\-][0-9]{2}:[0-9]{2})"
)


@dataclass(frozen=True)
class Field:
    """One config setting: its kind (enum, multi, int, number, bool, text, time, bbox)."""

    name: str
    kind: str
    label: str
    default: object = None
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    required: bool = False
    help: str = ""
    extra: dict = field(default_factory=dict)

    def json_schema(self):
        """This field as a JSON Schema property (for OpenAPI and the page's form)."""
        out = {"title": str(self.label)}
        if self.help:
            out["description"] = str(self.help)
        if self.kind == "enum":
            out.update(type="string", enum=list(self.choices))
        elif self.kind == "multi":
            out.update(type="array", items={"type": "string", "enum": list(self.choices)},
                       uniqueItems=True)  # fmt: skip
        elif self.kind in ("int", "number"):
            out["type"] = "integer" if self.kind == "int" else "number"
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.kind == "bool":
            out["type"] = "boolean"
        elif self.kind == "text":
            out["type"] = ["string", "null"]
            if self.pattern:
                out["pattern"] = f"^({self.pattern})?$"
        elif self.kind == "time":
            out.update(type=["string", "null"], format="date-time")
        elif self.kind == "bbox":
            out.update(type="array", minItems=4, maxItems=4, items={"type": "number"})
        if self.default is not None:
            out["default"] = self.default
        return out


def _metric_choices():
    return tuple(sorted(METRICS))


_PERIODS = tuple(SnapshotPeriod.values)
_CHART_PERIODS = ("24h", "7d", "30d", "90d")

_CHART = (
    Field("metric", "enum", _("Metric"), default="gmv", choices=_metric_choices(), required=True),
    Field("currency", "text", _("Currency"), pattern=_CURRENCY,
          help=_("ISO 4217 code; required for money metrics.")),
    Field("period", "enum", _("Period"), default="7d", choices=_CHART_PERIODS,
          help=_("Ignored when from and to are set.")),
    Field("from", "time", _("From"), help=_("RFC 3339; with `to`, replaces the period.")),
    Field("to", "time", _("To")),
    Field("granularity", "enum", _("Granularity"), default="day",
          choices=tuple(Granularity.values)),
    Field("source", "enum", _("Source"), default="", choices=("", *Source.values)),
    Field("country", "text", _("Country"), pattern=_COUNTRY, help=_("ISO 3166-1 alpha-2 cut.")),
    Field("compare_previous", "bool", _("Compare with the previous period"), default=False),
)  # fmt: skip

GAUGE_FIGURES = ("success_rate", "conversion_rate", "fraud_rate_bps", *METRICS.keys())
_GAUGE_FIGURES = tuple(dict.fromkeys(
    f for f in GAUGE_FIGURES if f in ("success_rate", "conversion_rate", "fraud_rate_bps")
    or METRICS[f].kind in ("count", "money") and f != "sales"
))  # fmt: skip

_GAUGE = (
    Field("figure", "enum", _("Figure"), default="success_rate", choices=_GAUGE_FIGURES,
          required=True),
    Field("currency", "text", _("Currency"), pattern=_CURRENCY,
          help=_("ISO 4217 code; required for money figures.")),
    Field("period", "enum", _("Period"), default="24h", choices=_PERIODS),
    Field("min", "number", _("Minimum"), default=0),
    Field("max", "number", _("Maximum"), default=1),
    Field("warning", "number", _("Warning at")),
    Field("critical", "number", _("Critical at")),
    Field("higher_is_worse", "bool", _("Higher is worse"), default=False,
          help=_("Off: the bands warn when the value falls below them.")),
)  # fmt: skip

_TABLE = (
    Field("entity", "enum", _("Rows"), default="merchants", choices=tuple(TableEntity.values),
          required=True),
    Field("metric", "enum", _("By"), default="gmv", choices=("gmv",),
          help=_("GMV converted into the reporting currency, as the overview ranks it.")),
    Field("period", "enum", _("Period"), default="24h", choices=_PERIODS),
    Field("limit", "int", _("Rows shown"), default=TOP_N, minimum=1, maximum=TOP_N),
)  # fmt: skip

_LIST = (
    Field("source", "enum", _("Items"), default="transactions", choices=tuple(ListSource.values),
          required=True),
    Field("limit", "int", _("Items shown"), default=10, minimum=1, maximum=50),
)  # fmt: skip

_MAP = (
    Field("bbox", "bbox", _("Viewport (minLon, minLat, maxLon, maxLat)"),
          default=[-18.0, 4.0, 16.0, 25.0]),
    Field("zoom", "int", _("Zoom"), default=4, minimum=0, maximum=22),
    Field("markers", "enum", _("Markers show"), default="count", choices=tuple(MapMarker.values)),
)  # fmt: skip

ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_CATEGORIES = ("float", "fraud", "reconciliation", "payout", "system")
ALERT_STATUSES = ("open", "acknowledged", "resolved")

_ALERT_LIST = (
    Field("severity", "multi", _("Severities (none: all)"), default=[], choices=ALERT_SEVERITIES),
    Field("category", "multi", _("Categories (none: all)"), default=[], choices=ALERT_CATEGORIES),
    Field("status", "multi", _("Statuses"), default=["open", "acknowledged"],
          choices=ALERT_STATUSES),
    Field("limit", "int", _("Items shown"), default=10, minimum=1, maximum=50),
)  # fmt: skip

SCHEMAS = {
    WidgetType.CHART_LINE: _CHART,
    WidgetType.CHART_BAR: _CHART,
    WidgetType.GAUGE: _GAUGE,
    WidgetType.TABLE: _TABLE,
    WidgetType.LIST: _LIST,
    WidgetType.MAP: _MAP,
    WidgetType.ALERT_LIST: _ALERT_LIST,
}


def json_schema(widget_type):
    """The JSON Schema of a type's config."""
    fields = SCHEMAS[widget_type]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: f.json_schema() for f in fields},
    }


def default_config(widget_type):
    """The config a new widget of `widget_type` starts with."""
    return {f.name: _copy(f.default) for f in SCHEMAS[widget_type]}


def _copy(value):
    return list(value) if isinstance(value, list) else value


def _number(value):
    # bool is an int in Python: true must not pass for 1.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check(f, value):
    """(cleaned value, error message or None) of one field."""
    if f.kind == "enum":
        if value not in f.choices:
            shown = ", ".join(repr(c) for c in f.choices)
            return None, f"Must be one of {shown}."
        return value, None
    if f.kind == "multi":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "Must be a list of strings."
        bad = [v for v in value if v not in f.choices]
        if bad:
            return None, f"Unknown value {bad[0]!r}: use {', '.join(f.choices)}."
        if len(set(value)) != len(value):
            return None, "Values must not repeat."
        return list(value), None
    if f.kind in ("int", "number"):
        if f.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return None, "Must be a whole number."
        if not _number(value):
            return None, "Must be a finite number."
        if f.minimum is not None and value < f.minimum:
            return None, f"Must be at least {f.minimum}."
        if f.maximum is not None and value > f.maximum:
            return None, f"Must be at most {f.maximum}."
        return value, None
    if f.kind == "bool":
        if not isinstance(value, bool):
            return None, "Must be true or false."
        return value, None
    if f.kind == "text":
        if value in (None, ""):
            return None, None
        if not isinstance(value, str) or not re.fullmatch(f.pattern, value):
            return None, f"Must match {f.pattern}."
        return value, None
    if f.kind == "time":
        if value in (None, ""):
            return None, None
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            return None, "Must be an RFC 3339 time with seconds and offset (2026-11-27T10:00:00Z)."
        try:
            parsed = datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, OverflowError):
            return None, "Not a valid time."
        if not datetime(1970, 1, 1, tzinfo=UTC) <= parsed <= datetime(2100, 1, 1, tzinfo=UTC):
            return None, "Out of range (1970 to 2100)."
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ"), None
    if f.kind == "bbox":
        if not (isinstance(value, list) and len(value) == 4 and all(_number(v) for v in value)):
            return None, "Must be four numbers: minLon, minLat, maxLon, maxLat."
        min_lon, min_lat, max_lon, max_lat = value
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            return None, "Needs -180 <= minLon < maxLon <= 180 and -90 <= minLat < maxLat <= 90."
        return [float(v) for v in value], None
    raise AssertionError(f.kind)


def validate_config(widget_type, config, scope_kind):
    """The cleaned config (defaults filled) of a widget of `widget_type` in a scope of
    `scope_kind`; raises ValidationFailed with `config.<field>` errors."""
    if widget_type not in SCHEMAS:
        raise ValidationFailed(
            "Unknown widget type.",
            code="invalid_widget_type",
            errors={"type": [f"Use one of {', '.join(WidgetType.values)}."]},
        )
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationFailed("Invalid config.", errors={"config": ["Must be an object."]})
    fields = SCHEMAS[widget_type]
    errors = {}
    known = {f.name for f in fields}
    for key in config:
        if key not in known:
            errors[f"config.{key}"] = [f"Unknown setting for a {widget_type} widget."]
    out = {}
    for f in fields:
        value = config.get(f.name, _copy(f.default))
        if value is None:
            # Only the settings that default to nothing may be null.
            if f.required or f.default is not None:
                errors[f"config.{f.name}"] = ["This setting may not be null."]
            else:
                out[f.name] = None
            continue
        cleaned, message = _check(f, value)
        if message:
            errors[f"config.{f.name}"] = [message]
        else:
            out[f.name] = cleaned
    if not errors:
        _cross_checks(widget_type, out, scope_kind, errors)
    if errors:
        raise ValidationFailed("Invalid widget config.", code="invalid_config", errors=errors)
    return out


def _cross_checks(widget_type, c, scope_kind, errors):
    """Rules between settings, and between a type and the scope it reads."""
    if widget_type in (WidgetType.CHART_LINE, WidgetType.CHART_BAR):
        if METRICS[c["metric"]].needs_currency and not c["currency"]:
            errors["config.currency"] = [f"Money metric {c['metric']!r} needs a currency."]
        if (c["from"] is None) != (c["to"] is None):
            name = "config.to" if c["to"] is None else "config.from"
            errors[name] = ["Set both from and to, or neither (then the period applies)."]
        elif c["from"] is not None:
            frm, to = (datetime.fromisoformat(c[k]) for k in ("from", "to"))
            if frm >= to:
                errors["config.from"] = ["Must be before to."]
            elif to - frm > MAX_RANGE[c["granularity"]]:
                days = MAX_RANGE[c["granularity"]].days
                errors["config.to"] = [f"At most {days} days at {c['granularity']} granularity."]
        elif c["granularity"] == Granularity.HOUR and c["period"] == "90d":
            errors["config.granularity"] = ["90 days are drawn by day (hourly: 31 days at most)."]
    elif widget_type == WidgetType.GAUGE:
        money = c["figure"] in METRICS and METRICS[c["figure"]].kind == "money"
        if money and not c["currency"]:
            errors["config.currency"] = [f"Money figure {c['figure']!r} needs a currency."]
        if c["min"] >= c["max"]:
            errors["config.max"] = ["Must be above min."]
        for band in ("warning", "critical"):
            if c[band] is not None and not c["min"] <= c[band] <= c["max"]:
                errors[f"config.{band}"] = ["Must lie between min and max."]
    elif widget_type == WidgetType.TABLE:
        if c["entity"] in (TableEntity.AGENTS, TableEntity.BANKS) and scope_kind != "platform":
            errors["config.entity"] = ["Top agents and banks are ranked for the platform only."]
        if c["entity"] == TableEntity.MERCHANTS and scope_kind not in ("platform", "bank"):
            errors["config.entity"] = [
                "Top merchants exist for the platform and for banks (as the overview ranks them)."
            ]
    elif widget_type == WidgetType.LIST:
        if c["source"] == ListSource.DEAD_LETTERS and scope_kind != ScopeKind.PLATFORM:
            errors["config.source"] = ["Dead letters belong to the platform scope."]
        if c["source"] == ListSource.OPS_ACTIONS and scope_kind not in (
            ScopeKind.PLATFORM,
            ScopeKind.REGION,
        ):
            errors["config.source"] = ["Ops actions are listed for the platform and regions."]
    elif widget_type == WidgetType.MAP:
        if scope_kind not in (ScopeKind.PLATFORM, ScopeKind.REGION, ScopeKind.AGENT):
            errors["type"] = ["The agent map exists for the platform, a region or an agent."]


def type_allowed(widget_type, scope_kind):
    """Whether a widget of this type can be placed in a scope of this kind (the catalogue)."""
    try:
        validate_config(widget_type, default_for_kind(widget_type, scope_kind), scope_kind)
    except ValidationFailed:
        return False
    return True


def default_for_kind(widget_type, scope_kind):
    """A type's default config adjusted to what a scope kind can show."""
    config = default_config(widget_type)
    if widget_type == WidgetType.TABLE and scope_kind not in ("platform", "bank"):
        config["entity"] = TableEntity.COUNTRIES
    if widget_type == WidgetType.CHART_LINE or widget_type == WidgetType.CHART_BAR:
        config["currency"] = "XOF"
    if widget_type == WidgetType.GAUGE:
        config.update(warning=0.9, critical=0.8)
    return config
