"""The metrics alert rules watch, and the SQL that computes a metric for every series
of a rule at once: now (evaluation) or hour by hour (backtest, chart).

Aggregate metrics read dashboard_hourly_aggregate (the figures of
shared/contracts/events.md; rates as the overview computes them, except that
amounts are summed in their own currency: the fraud_rate_bps of a merchant trading
in several currencies is not converted). Agent metrics read the agents' float (now:
agents_agent; history: agents_agentfloathour). System metrics come from
alerts.system_metrics (platform scope only, no history).

Raw SQL (a comment the architecture asks for): one statement per rule over every
series, with GROUP BY and window functions the ORM does not express.
"""

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES

# Per (series[, hour]) sums each metric is computed from.
COLUMNS = {
    **{name: f"SUM({name})" for name in COUNT_FIGURES + MONEY_FIGURES},
    "connect_success": "SUM(success_count) FILTER (WHERE source = 'connect')",
}


def _ratio(num, den, scale=""):
    return lambda s: f"{scale}{s(num)}::numeric / NULLIF({s(den)}, 0)"


# name -> template taking s(column) (how a column's sum is written) -> SQL expression.
AGGREGATE_METRICS = {
    **{name: (lambda c: lambda s: f"{s(c)}::numeric")(name) for name in COUNT_FIGURES},
    **{name: (lambda c: lambda s: f"{s(c)}::numeric")(name) for name in MONEY_FIGURES},
    "success_rate": lambda s: (
        f"{s('success_count')}::numeric / NULLIF({s('success_count')} + {s('failed_count')}, 0)"
    ),
    "conversion_rate": _ratio("connect_success", "attempts"),
    "fraud_rate_bps": _ratio("fraud_amount", "gmv", scale="10000 * "),
    "payout_failure_rate": _ratio("payouts_failed_count", "payouts_count"),
    "refund_rate": _ratio("refunds_count", "success_count"),
    "dispute_rate": _ratio("disputes_count", "success_count"),
}

AGENT_METRICS = {
    "agent_float_headroom": "float_balance - low_float_threshold",
    "agent_float_balance": "float_balance",
}
# The same over the float history (balance at the end of each hour).
AGENT_HISTORY_METRICS = {
    "agent_float_headroom": "h.balance - a.low_float_threshold",
    "agent_float_balance": "h.balance",
}

EACH_KINDS = ("merchant", "agent", "bank", "country")
COMPARATOR_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def metric_kind(metric):
    """'aggregate', 'agent' or 'system' (None: unknown)."""
    from alerts.system_metrics import system_metric

    if metric in AGGREGATE_METRICS:
        return "aggregate"
    if metric in AGENT_METRICS:
        return "agent"
    if system_metric(metric) is not None:
        return "system"
    return None


def metric_names():
    from alerts.system_metrics import system_metric_names

    return sorted(AGGREGATE_METRICS) + sorted(AGENT_METRICS) + system_metric_names()


def aggregate_source(scope):
    """(series SQL, WHERE SQL, WHERE params) over the aggregate table for a rule scope:
    `each:merchant|agent|bank` (one series per tenant), `each:country` (platform rows
    by country, series region:CC), or one scope (region:CC reads the platform rows of
    CC, like the overview). A single scope's series is a quoted literal: scopes are
    validated by accounts.scope.Scope.parse (letters, digits, _ . - only)."""
    if scope.startswith("each:"):
        kind = scope[5:]
        if kind == "country":
            return "'region:' || country", "scope_kind = 'platform'", []
        return f"'{kind}:' || scope_id", "scope_kind = %s", [kind]
    if scope == "platform":
        return "'platform'", "scope_kind = 'platform'", []
    kind, _, ident = scope.partition(":")
    if kind == "region":
        return f"'{scope}'", "scope_kind = 'platform' AND country = %s", [ident]
    return f"'{scope}'", "scope_kind = %s AND scope_id = %s", [kind, ident]


def agent_source(scope, alias=""):
    """(series SQL, WHERE SQL, params) over agents_agent (`alias.` prefixed columns)."""
    p = f"{alias}." if alias else ""
    if scope.startswith("agent:"):
        return f"'agent:' || {p}agent_id", f"{p}agent_id = %s", [scope[6:]]
    if scope.startswith("region:"):
        return f"'agent:' || {p}agent_id", f"{p}country = %s", [scope[7:]]
    return f"'agent:' || {p}agent_id", "TRUE", []


def needed_columns(metric):
    """The COLUMNS a metric's template uses."""
    used = []
    AGGREGATE_METRICS[metric](lambda c: used.append(c) or c)
    return list(dict.fromkeys(used))
