"""Reads of the alerts app; every read that depends on who asks goes through accounts.scope."""

from datetime import timedelta

from django.db.models import Count

from accounts.scope import can_view_dashboards, restrict_queryset
from alerts.choices import LIVE_STATUSES, AlertCategory, Severity
from alerts.models import Alert
from common.errors import NotFound


def alert_queryset(user):
    """Alerts `user` may see: staff every one, a tenant those of its own scope."""
    if not can_view_dashboards(user):
        return Alert.objects.none()
    qs = Alert.objects.select_related("acknowledged_by", "resolved_by")
    return restrict_queryset(
        qs, user, merchant="merchant_id", agent="agent_id", bank="bank_id", country="country"
    )


def alert_get(user, alert_id):
    """One alert visible to `user`, else NotFound (another tenant's alert is a 404)."""
    alert = alert_queryset(user).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("Unknown alert.", code="alert_not_found")
    return alert


def alert_summary(user, queryset=None):
    """Live (open and acknowledged) alerts by severity and by category, zero-filled."""
    qs = alert_queryset(user) if queryset is None else queryset
    live = qs.filter(status__in=LIVE_STATUSES)
    by_severity = {s: 0 for s in Severity.values}
    by_category = {c: 0 for c in AlertCategory.values}
    for row in live.values("severity").annotate(n=Count("id")).order_by():
        by_severity[row["severity"]] = row["n"]
    for row in live.values("category").annotate(n=Count("id")).order_by():
        by_category[row["category"]] = row["n"]
    return {
        "total": sum(by_severity.values()),
        "open": live.filter(status="open").count(),
        "acknowledged": live.filter(status="acknowledged").count(),
        "by_severity": by_severity,
        "by_category": by_category,
    }


def alerts_in_scope(queryset, scope):
    """Alerts concerning `scope` (a Scope): a tenant's by its key, a region's by country."""
    from accounts.choices import ScopeKind

    if scope.is_platform:
        return queryset
    field = {
        ScopeKind.MERCHANT: "merchant_id",
        ScopeKind.AGENT: "agent_id",
        ScopeKind.BANK: "bank_id",
        ScopeKind.REGION: "country",
    }[scope.kind]
    return queryset.filter(**{field: scope.id})


# ------------------------------------------------------------------ backtest


def _backtest_rows(rule, start, end, threshold, scope, overrides, *, breaching_only=True):
    """(series, hour, value, limit) of every hour in [start, end) where a series of
    `rule` breached, computed from the aggregates (or the agents' float history) with
    the rule's window rolled hour by hour. One statement."""
    from alerts import metrics as m
    from alerts.evaluation import limit_sql, override_arrays, rule_threshold, window_hours

    kind = m.metric_kind(rule.metric)
    if rule.baseline == "zscore_28d":
        from common.errors import ValidationFailed

        raise ValidationFailed(
            "No backtest for z-score rules (their baseline moves every hour).",
            code="backtest_unavailable",
        )
    op = m.COMPARATOR_SQL[rule.comparator]
    rule_scope = scope or rule.scope
    default = rule_threshold(rule, overrides, None, threshold)
    ov_series, ov_values = override_arrays(overrides)
    hours = window_hours(rule.window)
    if kind == "aggregate":
        series_sql, where, params = m.aggregate_source(rule_scope)
        cols = m.needed_columns(rule.metric)
        inner = ", ".join(f"{m.COLUMNS[c]} AS {c}" for c in cols)
        expr = m.AGGREGATE_METRICS[rule.metric](lambda c: f"SUM({c}) OVER w")
        lookback = timedelta(hours=hours) + (
            timedelta(days=7) if rule.baseline == "last_week" else timedelta(0)
        )
        rolled = (
            f"SELECT series, bucket, {expr} AS value FROM ("
            f"SELECT {series_sql} AS series, bucket, {inner} FROM dashboard_hourly_aggregate "
            f"WHERE {where} AND bucket >= %s AND bucket < %s GROUP BY 1, 2) per_hour "
            f"WINDOW w AS (PARTITION BY series ORDER BY bucket "
            f"RANGE BETWEEN INTERVAL '{hours - 1} hours' PRECEDING AND CURRENT ROW)"
        )
        params = [*params, start - lookback, end]
    elif kind == "agent":
        series_sql, where, params = m.agent_source(rule_scope, alias="a")
        rolled = (
            f"SELECT {series_sql} AS series, h.hour AS bucket, "
            f"({m.AGENT_HISTORY_METRICS[rule.metric]})::numeric AS value "
            f"FROM agents_agentfloathour h JOIN agents_agent a ON a.agent_id = h.agent_id "
            f"WHERE {where} AND h.hour >= %s AND h.hour < %s"
        )
        params = [*params, start, end]
    else:
        return []  # system figures keep no history to replay
    base_join = (
        " LEFT JOIN rolled b ON b.series = r.series AND b.bucket = r.bucket - INTERVAL '7 days'"
        if rule.baseline == "last_week"
        else ""
    )
    sql = (
        f"WITH rolled AS ({rolled}),"
        " ovr AS (SELECT * FROM unnest(%s::text[], %s::numeric[]) AS o(series, value))"
        " SELECT series, bucket, value, lim FROM ("
        f"SELECT r.series, r.bucket, r.value, {limit_sql(rule)} AS lim"
        f" FROM rolled r{base_join} LEFT JOIN ovr o ON o.series = r.series"
        " WHERE r.bucket >= %s) x"
        + (f" WHERE x.value IS NOT NULL AND x.value {op} x.lim" if breaching_only else "")
        + " ORDER BY series, bucket"
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ov_series, ov_values, default, start])
        return cursor.fetchall()


def series_of(rule, scope):
    """`scope` as one series of `rule` (None: every series). `platform` means every series
    (a platform threshold applies to all of them); a scope of another kind than the rule's
    each:* kind, or any scope for a single-scope rule other than its own, is a 400."""
    from common.errors import ValidationFailed

    scope = None if scope in (None, "", "platform") else str(scope)
    if scope is None or scope == rule.scope:
        return None if scope == rule.scope else scope
    kind = {"country": "region"}.get(rule.scope[5:], rule.scope[5:])
    if not rule.scope.startswith("each:") or not scope.startswith(f"{kind}:"):
        message = f"{scope} is not a series of the rule's scope {rule.scope}."
        raise ValidationFailed(message, errors={"scope": [message]}, code="invalid_scope")
    return scope


def rule_backtest(rule, *, start, end, threshold=None, scope=None):
    """Which series of `rule` would have fired over [start, end) and when, from the
    aggregates: a breaching hour counts as breaching for the whole hour; consecutive
    breaching hours make one episode, which fires `for` after it began (if it lasts
    that long) and resolves `keep_firing_for` after its last breaching hour ends
    (None: still breaching at `end`). `threshold` replaces the rule's (per-scope
    overrides still apply), `scope` restricts an each:* rule to one series.

    Returns [{"scope", "fired_at", "resolved_at", "peak"}] ordered by fired_at, scope.
    """
    from alerts.overrides import threshold_overrides

    scope = series_of(rule, scope)
    overrides = threshold_overrides(rule.key)
    rows = _backtest_rows(rule, start, end, threshold, scope, overrides)
    hour = timedelta(hours=1)
    episodes = []
    current = None
    for series, bucket, value, _limit in rows:
        if current and current["scope"] == series and bucket == current["last"] + hour:
            current["last"] = bucket
            current["peak"] = _peak(rule, current["peak"], value)
            continue
        current = {"scope": series, "first": bucket, "last": bucket, "peak": value}
        episodes.append(current)
    found = []
    for ep in episodes:
        began = max(ep["first"], start)
        ended = ep["last"] + hour
        fired_at = began + rule.for_duration
        if fired_at > ended or fired_at >= end:
            continue  # the breach did not last `for`
        resolved_at = ended + rule.keep_firing_for
        found.append(
            {
                "scope": ep["scope"],
                "fired_at": fired_at,
                "resolved_at": None if ended >= end or resolved_at >= end else resolved_at,
                "peak": ep["peak"],
            }
        )
    found.sort(key=lambda f: (f["fired_at"], f["scope"]))
    return found


def _peak(rule, a, b):
    """The worst value: the highest for gt/gte rules, the lowest for lt/lte."""
    return max(a, b) if rule.comparator in ("gt", "gte") else min(a, b)


def alert_transitions(alert):
    """The state changes of the alert's series around its life (why it fired)."""
    from django.utils import timezone

    from alerts.models import SeriesTransition

    if alert.rule_id is None:
        return SeriesTransition.objects.none()
    rule = alert.rule
    start = alert.first_seen - rule.for_duration - rule.window - timedelta(minutes=1)
    end = (alert.resolved_at or timezone.now()) + timedelta(minutes=1)
    return SeriesTransition.objects.filter(
        rule_id=alert.rule_id, series=alert.scope, at__gte=start, at__lte=end
    ).order_by("at", "id")[:200]


def owner_scope_of(user):
    """What a user's silences and contact points belong to: platform for staff, else its
    own tenant scope (None: the user may own none)."""
    from accounts.scope import is_platform_staff, user_scope

    if is_platform_staff(user):
        return "platform"
    if not can_view_dashboards(user):
        return None
    return str(user_scope(user))


def owned_queryset(model, user):
    """Silences or contact points `user` may see: staff all, a tenant its own."""
    owner = owner_scope_of(user)
    if owner is None:
        return model.objects.none()
    if owner == "platform":
        return model.objects.all()
    return model.objects.filter(owner_scope=owner)


def alert_list_widget_data(*, user, scope, config, now):
    """The `alert_list` widget (dashboard.widgets.registry): the alert list API's items of
    `scope`, filtered by severity, category and status (default open + acknowledged)."""
    from accounts.scope import can_view
    from alerts.api.serializers import AlertSerializer
    from common.errors import NotAllowed

    if not can_view(user, scope):
        raise NotAllowed(f"You may not view scope {scope}.", code="scope_forbidden")
    qs = alerts_in_scope(alert_queryset(user), scope)
    statuses = config.get("status") or list(LIVE_STATUSES)
    qs = qs.filter(status__in=statuses)
    if config.get("severity"):
        qs = qs.filter(severity__in=config["severity"])
    if config.get("category"):
        qs = qs.filter(category__in=config["category"])
    limit = int(config.get("limit") or 10)
    total = qs.count()
    items = AlertSerializer(qs.order_by("-last_seen", "-id")[:limit], many=True).data
    return {"items": items, "total": total}


def metric_points(rule, series, *, start, end):
    """[(hour, value)] of `rule`'s metric for one series over [start, end), the rule's
    window rolled hour by hour (the alert detail's chart). Empty for system figures."""
    from alerts.overrides import threshold_overrides

    rows = _backtest_rows(
        rule, start, end, None, series, threshold_overrides(rule.key), breaching_only=False
    )
    return [(bucket, value) for _series, bucket, value, _limit in rows]
