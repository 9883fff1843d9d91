"""What each widget type draws, read through the selectors of the endpoint it mirrors.

- chart_line / chart_bar: the time-series endpoint's points (same parameters), and with
  `compare_previous` the points of the equal span just before.
- gauge: a figure of the overview (rates, counts, or one currency's amount) of a period.
- table: the overview's top lists (merchants, countries), or the platform's top agents
  and banks ranked the same way (converted GMV, dashboard.snapshots.sql.top_groups).
- list: the newest transactions of the scope's live feed (dashboard.stream, as the
  Transactions page reads it), dead letters (platform staff), or ops actions through
  the provider opsactions registers (dashboard/widgets/registry.py).
- map: the agent clusters endpoint's answer for the configured viewport.
- alert_list: the provider alerts registers; an empty list until it does.

Answers are JSON bytes, cached per (widget, scope, window) until the scope's next
snapshot refresh (dashboard/widgets/cache.py).
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson
from django.db import connection
from rest_framework.utils.encoders import JSONEncoder

from accounts.scope import is_platform_staff
from agents.api.views import clusters_body
from agents.selectors import AgentVisibility, BBox, agent_clusters
from common.errors import NotAllowed
from dashboard import stream
from dashboard.models import DeadLetter
from dashboard.snapshots import sql
from dashboard.snapshots.choices import Granularity
from dashboard.snapshots.compute import iso, ranked
from dashboard.snapshots.fx import reporting_currency
from dashboard.snapshots.overview import overview_body
from dashboard.snapshots.periods import floor_hour, window
from dashboard.snapshots.timeseries import METRICS, parse_series_query, series_points
from dashboard.widgets import cache
from dashboard.widgets.choices import OPS_ACTIONS_PROVIDER, ListSource, TableEntity, WidgetType
from dashboard.widgets.registry import widget_provider

CHART_PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                 "30d": timedelta(days=30), "90d": timedelta(days=90)}  # fmt: skip
_RATES = ("success_rate", "conversion_rate", "fraud_rate_bps")


def _encode(body):
    # DRF's encoder: the same rendering (times, decimals) as the endpoints mirrored.
    return json.dumps(body, cls=JSONEncoder, separators=(",", ":")).encode()


# ---------------------------------------------------------------- charts


def _series_params(config, now):
    if config["from"]:
        frm, to = config["from"], config["to"]
    else:
        end = now
        frm, to = iso(end - CHART_PERIODS[config["period"]]), iso(end)
    params = {"from": frm, "to": to, "granularity": config["granularity"]}
    for name in ("currency", "source", "country"):
        if config.get(name):
            params[name] = config[name]
    return params


def series_query(config, scope, now):
    """The time-series query a chart widget runs (the endpoint's own parser)."""
    return parse_series_query(
        metric=config["metric"], scope=scope, params=_series_params(config, now), now=now
    )


def _chart(user, scope, config, now):
    q = series_query(config, scope, now)
    body = {
        "metric": q.metric,
        "scope": str(scope),
        "granularity": q.granularity,
        "currency": q.currency,
        "from": iso(q.frm),
        "to": iso(q.to),
        "points": [{"t": t, "value": v} for t, v in series_points(q)],
        "previous": None,
    }
    if config["compare_previous"]:
        span = q.to - q.frm
        prev = replace(q, frm=q.frm - span, to=q.frm)
        body["previous"] = {
            "from": iso(prev.frm),
            "to": iso(prev.to),
            "points": [{"t": t, "value": v} for t, v in series_points(prev)],
        }
    return body


def _chart_window(config, now):
    if config["from"]:
        return f"{config['from']}-{config['to']}"
    step = timedelta(hours=1) if config["granularity"] == Granularity.HOUR else timedelta(days=1)
    # The endpoint rounds `to` up to the bucket: the same window until the next bucket.
    return iso(floor_hour(now) if step.days == 0 else floor_hour(now).replace(hour=0))


# ---------------------------------------------------------------- overview-based


def _overview(scope, period):
    return orjson.loads(overview_body(scope, period))


def _number(value):
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def gauge_value(overview, config):
    """The figure a gauge shows, as the overview has it (rate float, count int, money str)."""
    figure = config["figure"]
    if figure in _RATES:
        return overview["rates"].get(figure)
    if METRICS[figure].kind == "count":
        return overview["counts"].get(figure, 0)
    return overview["amounts"].get(config["currency"], {}).get(figure, "0")


def _band(value, config):
    v = _number(value)
    if v is None:
        return None
    worse = (lambda a, b: a >= b) if config["higher_is_worse"] else (lambda a, b: a <= b)
    for band in ("critical", "warning"):
        limit = config[band]
        if limit is not None and worse(v, _number(limit)):
            return band
    return "ok"


def _gauge(user, scope, config, now):
    overview = _overview(scope, config["period"])
    value = gauge_value(overview, config)
    return {
        "figure": config["figure"],
        "period": config["period"],
        "currency": config["currency"],
        "value": value,
        "min": config["min"],
        "max": config["max"],
        "warning": config["warning"],
        "critical": config["critical"],
        "band": _band(value, config),
        "from": overview["from"],
        "to": overview["to"],
        "as_of": overview["as_of"],
        "stale": overview["stale"],
    }


def _table(user, scope, config, now):
    entity, period, limit = config["entity"], config["period"], config["limit"]
    if entity in (TableEntity.MERCHANTS, TableEntity.COUNTRIES):
        overview = _overview(scope, period)
        key = "top_merchants" if entity == TableEntity.MERCHANTS else "top_countries"
        rows, frm, to = overview[key][:limit], overview["from"], overview["to"]
    else:
        frm_t, to_t, _pf, _pt = window(period, now)
        quote = reporting_currency()
        group = "agent" if entity == TableEntity.AGENTS else "bank"
        with connection.cursor() as cur:
            found = sql.top_groups(
                cur, group_kind=group, frm=frm_t, to=to_t, quote=quote, limit=limit
            )
        rows, frm, to = ranked(found, quote, f"{group}_id"), iso(frm_t), iso(to_t)
    return {"entity": entity, "metric": config["metric"], "period": period,
            "from": frm, "to": to, "rows": rows}  # fmt: skip


# ---------------------------------------------------------------- lists


def _provided(key, user, scope, config, now):
    provider = widget_provider(key)
    if provider is None:
        return {"items": [], "total": 0, "provider": False}
    return {**provider(user=user, scope=scope, config=config, now=now), "provider": True}


def _dead_letters(limit):
    rows = DeadLetter.objects.order_by("-received_at", "-id")[:limit]
    items = [
        {"id": d.pk, "received_at": d.received_at, "topic": d.topic, "event_id": d.event_id,
         "reason": d.reason, "status": d.status, "detail": d.detail[:300]}
        for d in rows
    ]  # fmt: skip
    return {"items": items, "total": DeadLetter.objects.count()}


def _list(user, scope, config, now):
    source, limit = config["source"], config["limit"]
    if source == ListSource.TRANSACTIONS:
        entries = stream.feed_latest(str(scope), count=limit)
        items = [orjson.loads(data) for _id, data in reversed(entries)]
        body = {"items": items, "total": len(items)}
    elif source == ListSource.DEAD_LETTERS:
        body = _dead_letters(limit)
    else:
        body = _provided(OPS_ACTIONS_PROVIDER, user, scope, config, now)
    return {"source": source, **body}


def _map(user, scope, config, now):
    bbox = BBox(*config["bbox"])
    result = agent_clusters(
        bbox=bbox, zoom=config["zoom"], visibility=AgentVisibility.for_scope(scope)
    )
    return {**clusters_body(result, config["zoom"]), "markers": config["markers"]}


def _alert_list(user, scope, config, now):
    return _provided(WidgetType.ALERT_LIST, user, scope, config, now)


_DRAW = {
    WidgetType.CHART_LINE: _chart,
    WidgetType.CHART_BAR: _chart,
    WidgetType.GAUGE: _gauge,
    WidgetType.TABLE: _table,
    WidgetType.LIST: _list,
    WidgetType.MAP: _map,
    WidgetType.ALERT_LIST: _alert_list,
}


def check_readable(user, widget_type, config):
    """Type-specific rights beyond the scope (already checked): dead letters are staff's."""
    if (
        widget_type == WidgetType.LIST
        and config["source"] == ListSource.DEAD_LETTERS
        and not is_platform_staff(user)
    ):
        raise NotAllowed("Dead letters are for platform staff.", code="scope_forbidden")


def _window_part(widget_type, config, now):
    if widget_type in (WidgetType.CHART_LINE, WidgetType.CHART_BAR):
        return _chart_window(config, now)
    if widget_type in (WidgetType.GAUGE, WidgetType.TABLE):
        return f"{config['period']}-{iso(floor_hour(now))}"
    return iso(floor_hour(now))


# Types whose answer depends on who asks beyond the scope (the providers apply the
# endpoint's own visibility rules): cached per user.
_PER_USER = {WidgetType.LIST, WidgetType.ALERT_LIST}
# The live feed and dead letters are read as they are (one Redis read, one indexed
# query): caching them until the next refresh would hide what just arrived.
_UNCACHED_SOURCES = {ListSource.TRANSACTIONS, ListSource.DEAD_LETTERS}


def widget_data(*, user, widget_type, config, scope, cache_id, now=None):
    """The JSON bytes a widget of `widget_type` with `config` draws in `scope` for `user`
    (the scope already checked viewable); `cache_id` names the widget's version."""
    now = now or datetime.now(UTC)
    check_readable(user, widget_type, config)

    def compute():
        return _encode(_DRAW[widget_type](user, scope, config, now))

    if widget_type == WidgetType.LIST and config["source"] in _UNCACHED_SOURCES:
        return compute()
    parts = [cache_id, str(scope), _window_part(widget_type, config, now)]
    if widget_type in _PER_USER:
        parts.append(f"u{user.pk}")
    return cache.fetch_or_compute(parts, str(scope), compute)
