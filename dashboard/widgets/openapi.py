"""OpenAPI (3.0) shapes of the widgets: each type's config (from dashboard/widgets/schemas.py)
and the data each type answers (dashboard/widgets/data.py)."""

from dashboard.widgets.choices import WidgetType
from dashboard.widgets.schemas import json_schema

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_POINTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "t": _TIME,
            "value": {"description": "money: decimal string; count: integer; rate: number or null"},
        },
    },
}


def _openapi(schema):
    """JSON Schema -> OpenAPI 3.0 (a ["string", "null"] type becomes nullable)."""
    if isinstance(schema, dict):
        out = {k: _openapi(v) for k, v in schema.items()}
        kind = schema.get("type")
        if isinstance(kind, list):
            out["type"] = next(k for k in kind if k != "null")
            out["nullable"] = True
            if "pattern" in out:
                out["pattern"] = out["pattern"]
        return out
    if isinstance(schema, list):
        return [_openapi(v) for v in schema]
    return schema


def config_schema(widget_type):
    out = _openapi(json_schema(widget_type))
    out["title"] = f"{widget_type} config"
    return out


def any_config_schema():
    """A config of any type (which one applies is the widget's `type`)."""
    return {
        "anyOf": [config_schema(t) for t in WidgetType.values],
        "description": "Validated by the widget's type; unknown settings are a 400 "
        "naming `config.<setting>`; absent settings take their defaults.",
    }


def _obj(title, properties):
    return {"type": "object", "title": title, "properties": properties}


DATA_SHAPES = {
    WidgetType.CHART_LINE: _obj(
        "chart data (chart_line, chart_bar)",
        {
            "metric": _STR, "scope": _STR, "granularity": _STR, "currency": _NSTR,
            "from": _TIME, "to": _TIME, "points": _POINTS,
            "previous": {"type": "object", "nullable": True, "properties": {
                "from": _TIME, "to": _TIME, "points": _POINTS}},
        },
    ),
    WidgetType.GAUGE: _obj(
        "gauge data",
        {
            "figure": _STR, "period": _STR, "currency": _NSTR,
            "value": {"description": "as in the overview: rate number/null, count, money string"},
            "min": {"type": "number"}, "max": {"type": "number"},
            "warning": {"type": "number", "nullable": True},
            "critical": {"type": "number", "nullable": True},
            "band": {"type": "string", "enum": ["ok", "warning", "critical"], "nullable": True},
            "from": _TIME, "to": _TIME, "as_of": {**_TIME, "nullable": True},
            "stale": {"type": "boolean"},
        },
    ),
    WidgetType.TABLE: _obj(
        "table data",
        {
            "entity": _STR, "metric": _STR, "period": _STR, "from": _TIME, "to": _TIME,
            "rows": {"type": "array", "items": {"type": "object", "description":
                     "{merchant_id|country|agent_id|bank_id, gmv, currency, missing_rates}"}},
        },
    ),
    WidgetType.LIST: _obj(
        "list data",
        {
            "source": {"type": "string", "enum": ["ops_actions", "dead_letters", "transactions"]},
            "items": {"type": "array", "items": {"type": "object", "description":
                      "transactions: feed entries; ops_actions: as the ops-action list; "
                      "dead_letters: id, received_at, topic, event_id, reason, status, detail"}},
            "total": _INT,
            "provider": {"type": "boolean", "description": "ops_actions: provider registered"},
        },
    ),
    WidgetType.MAP: _obj(
        "map data: the /agents/clusters answer for the viewport, plus `markers`",
        {"type": _STR, "features": {"type": "array", "items": {"type": "object"}},
         "mode": {"type": "string", "enum": ["clusters", "agents"]}, "zoom": _INT,
         "count": _INT, "markers": _STR},
    ),
    WidgetType.ALERT_LIST: _obj(
        "alert_list data",
        {"items": {"type": "array", "items": {"type": "object",
                   "description": "alerts as the alert list API answers them"}},
         "total": _INT,
         "provider": {"type": "boolean", "description": "false: the alerts app has not "
                      "registered its provider yet (always empty)"}},
    ),
}  # fmt: skip


def data_schema():
    return {"anyOf": list(DATA_SHAPES.values()), "description": "What the widget's type draws."}
