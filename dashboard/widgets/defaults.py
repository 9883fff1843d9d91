"""Default home layouts: the platform's 6 widgets (the seed's "6 default widgets") and one
layout per scope kind (merchant, agent, bank, region), used by every scope of that kind
until its own shared layout or a user's personal one exists.

Written by migration 0011 (and again by the tests after a transactional test empties the
tables, as the role groups are); each config is checked against its schema by the tests.
Entries: (type, title, (x, y, w, h), config); absent settings take their defaults.
"""

import copy

# Settings several layouts share.
_WEST_AFRICA = [-18.0, 4.0, 16.0, 25.0]
_GMV_7D = (
    "chart_line",
    "GMV, last 7 days",
    {
        "metric": "gmv",
        "currency": "XOF",
        "period": "7d",
        "granularity": "day",
        "compare_previous": True,
    },
)
_SUCCESS_24H = (
    "gauge",
    "Success rate (24 h)",
    {
        "figure": "success_rate",
        "period": "24h",
        "min": 0,
        "max": 1,
        "warning": 0.9,
        "critical": 0.8,
    },
)
_TOP_MERCHANTS = (
    "table",
    "Top merchants (24 h)",
    {"entity": "merchants", "metric": "gmv", "period": "24h", "limit": 10},
)
_PAYOUTS_BY_DAY = (
    "chart_bar",
    "Payouts by day",
    {"metric": "payouts_amount", "currency": "XOF", "period": "7d", "granularity": "day"},
)
_TRANSACTIONS = ("list", "Latest transactions", {"source": "transactions", "limit": 10})
_OPEN_ALERTS = ("alert_list", "Open alerts", {"status": ["open"], "limit": 10})


def _at(widget, position):
    kind, title, config = widget
    return (kind, title, position, config)


DEFAULT_LAYOUTS = {
    "platform": [
        _at(_GMV_7D, (0, 0, 8, 4)),
        _at(_SUCCESS_24H, (8, 0, 4, 4)),
        _at(_TOP_MERCHANTS, (0, 4, 6, 5)),
        _at(_PAYOUTS_BY_DAY, (6, 4, 6, 5)),
        ("map", "Agent map", (0, 9, 8, 6),
         {"bbox": _WEST_AFRICA, "zoom": 4, "markers": "count"}),
        _at(_OPEN_ALERTS, (8, 9, 4, 6)),
    ],
    "merchant": [
        _at(_GMV_7D, (0, 0, 8, 4)),
        _at(_SUCCESS_24H, (8, 0, 4, 4)),
        ("chart_bar", "Refunds by day", (0, 4, 6, 4),
         {"metric": "refunds_count", "period": "7d", "granularity": "day"}),
        ("table", "Top countries (24 h)", (6, 4, 6, 4),
         {"entity": "countries", "metric": "gmv", "period": "24h", "limit": 5}),
        _at(_TRANSACTIONS, (0, 8, 8, 5)),
        _at(_OPEN_ALERTS, (8, 8, 4, 5)),
    ],
    "agent": [
        ("chart_line", "Cash-in, last 7 days", (0, 0, 8, 4),
         {"metric": "cash_in_amount", "currency": "XOF", "period": "7d", "granularity": "day",
          "compare_previous": True}),
        ("gauge", "Cash-out today", (8, 0, 4, 4),
         {"figure": "cash_out_amount", "currency": "XOF", "period": "today", "min": 0,
          "max": 5000000}),
        ("map", "My location", (0, 4, 6, 5),
         {"bbox": _WEST_AFRICA, "zoom": 4, "markers": "float"}),
        _at(_TRANSACTIONS, (6, 4, 6, 5)),
        _at(_OPEN_ALERTS, (0, 9, 12, 4)),
    ],
    "bank": [
        _at(_GMV_7D, (0, 0, 8, 4)),
        _at(_SUCCESS_24H, (8, 0, 4, 4)),
        _at(_TOP_MERCHANTS, (0, 4, 6, 5)),
        _at(_PAYOUTS_BY_DAY, (6, 4, 6, 5)),
        _at(_OPEN_ALERTS, (0, 9, 12, 4)),
    ],
    "region": [
        _at(_GMV_7D, (0, 0, 8, 4)),
        _at(_SUCCESS_24H, (8, 0, 4, 4)),
        ("map", "Agent map", (0, 4, 8, 6),
         {"bbox": _WEST_AFRICA, "zoom": 4, "markers": "low_float"}),
        ("list", "Latest ops actions", (8, 4, 4, 6), {"source": "ops_actions", "limit": 10}),
        _at(_TRANSACTIONS, (0, 10, 8, 5)),
        _at(_OPEN_ALERTS, (8, 10, 4, 5)),
    ],
}  # fmt: skip


def default_widgets_ensure(widget_model):
    """Create the default layout of each kind that has none (idempotent); `widget_model` is
    the migration's historical model or the current one."""
    for kind, layout in DEFAULT_LAYOUTS.items():
        if widget_model.objects.filter(scope_kind=kind, scope_id="", owner=None).exists():
            continue
        widget_model.objects.bulk_create(
            widget_model(scope_kind=kind, scope_id="", owner=None, type=t, title=title,
                         x=x, y=y, w=w, h=h, config=copy.deepcopy(config))
            for t, title, (x, y, w, h), config in layout
        )  # fmt: skip
