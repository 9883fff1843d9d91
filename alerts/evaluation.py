"""Evaluation of alert rules (every minute by beat): one SQL statement per rule over
every series, then the Grafana-like state machine of each series that breaches or is
not normal: normal -> pending (breaching, for `for`) -> firing (an alert opens) ->
resolved (the alert resolves, after keep_firing_for) -> normal. Series in the normal
state keep no row: the per-rule state table only holds pending and firing series.
"""

import logging
import operator
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from alerts import metrics as m
from alerts.choices import (
    LIVE_STATUSES,
    AlertSource,
    Baseline,
    NoDataState,
    SeriesState,
    Severity,
)
from alerts.models import (
    Alert,
    AlertRule,
    RuleEvaluation,
    RuleSeriesState,
    SeriesTransition,
)
from alerts.overrides import threshold_overrides
from alerts.prom import ALERTS_FIRING, RULE_EVALUATION_SECONDS
from alerts.services import alert_raise, alert_resolve, fingerprint_for
from alerts.system_metrics import system_metric

logger = logging.getLogger(__name__)

COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
HOUR = timedelta(hours=1)


def window_hours(window):
    """A window in whole hours of aggregates (at least one)."""
    return max(1, -(-int(window.total_seconds()) // 3600))


def rule_threshold(rule, overrides, series, threshold=None):
    """The threshold of one series: its scope's override, the platform's, the given
    one (a preview), or the rule's."""
    if series in overrides:
        return overrides[series]
    if threshold is not None:
        return Decimal(threshold)
    return overrides.get("platform", rule.threshold)


def override_arrays(overrides):
    """(series, values) of a rule's per-scope threshold overrides, as SQL array parameters."""
    items = [(k, v) for k, v in overrides.items() if k != "platform"]
    return [k for k, _ in items], [Decimal(v) for _, v in items]


def limit_sql(rule):
    """The SQL expression of the value at which `rule` fires, for its baseline."""
    if rule.baseline == Baseline.LAST_WEEK:
        return "b.value * (1 + COALESCE(o.value, %s) / 100)"
    if rule.baseline == Baseline.ZSCORE_28D:
        # The value at which the z-score equals the threshold (no spread: no limit).
        return "b.mean + COALESCE(o.value, %s) * NULLIF(b.sd, 0)"
    return "COALESCE(o.value, %s)"


def current_values(rule, now, *, active=(), threshold=None, overrides=None):
    """{series: (value, limit)} of every series breaching now, plus the `active` series
    (pending or firing: their value decides whether they recover). One statement."""
    overrides = threshold_overrides(rule.key) if overrides is None else overrides
    default = rule_threshold(rule, overrides, None, threshold)
    kind = m.metric_kind(rule.metric)
    op = m.COMPARATOR_SQL[rule.comparator]
    ov_series, ov_values = override_arrays(overrides)
    if kind == "system":
        fn = system_metric(rule.metric)
        value = fn(now=now, window=rule.window)
        if value is None:
            return {}
        limit = rule_threshold(rule, overrides, "platform", threshold)
        return {"platform": (Decimal(value), Decimal(limit))}
    if kind == "agent":
        series_sql, where, params = m.agent_source(rule.scope)
        cur = (
            f"SELECT {series_sql} AS series, ({m.AGENT_METRICS[rule.metric]})::numeric AS value "
            f"FROM agents_agent WHERE {where}"
        )
        base = None
    else:
        series_sql, where, params = m.aggregate_source(rule.scope)
        expr = m.AGGREGATE_METRICS[rule.metric](lambda c: m.COLUMNS[c])
        hours = window_hours(rule.window)
        # The hours that overlap (now - window, now]: aggregates are hourly.
        frm = now - timedelta(hours=hours) - HOUR
        span = "bucket > %s AND bucket <= %s"
        cur = (
            f"SELECT {series_sql} AS series, {expr} AS value FROM dashboard_hourly_aggregate "
            f"WHERE {where} AND {span} GROUP BY 1"
        )
        where_params = params
        params = [*params, frm, now]
        base, base_params = None, []
        if rule.baseline == Baseline.LAST_WEEK:
            week = timedelta(days=7)
            base, base_params = cur, [*where_params, frm - week, now - week]
        elif rule.baseline == Baseline.ZSCORE_28D:
            # Mean and spread of the metric's hourly values over the 28 days before the window.
            base = (
                "SELECT series, avg(v) AS mean, stddev_samp(v) AS sd FROM ("
                f"SELECT {series_sql} AS series, bucket, {expr} AS v "
                f"FROM dashboard_hourly_aggregate WHERE {where} AND bucket > %s AND bucket <= %s "
                "GROUP BY 1, 2) hourly GROUP BY series"
            )
            base_params = [*where_params, frm - timedelta(days=28), frm]
    sql = [f"WITH cur AS ({cur})"]
    all_params = list(params)
    if base:
        sql.append(f", base AS ({base})")
        all_params += base_params
    sql.append(
        ", ovr AS (SELECT * FROM unnest(%s::text[], %s::numeric[]) AS o(series, value))"
        f" SELECT * FROM (SELECT cur.series, cur.value, {limit_sql(rule)} AS lim FROM cur"
        + (" LEFT JOIN base b ON b.series = cur.series" if base else "")
        + " LEFT JOIN ovr o ON o.series = cur.series) x"
        f" WHERE x.value IS NOT NULL AND (x.value {op} x.lim OR x.series = ANY(%s))"
    )
    all_params += [ov_series, ov_values, default, list(active)]
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), all_params)
        return {series: (value, lim) for series, value, lim in cursor.fetchall()}


def inhibitors():
    """Rules whose live alerts mean the aggregates are stale (consumer stalled,
    snapshots stale): while one fires, rules over aggregates and agent floats are held
    (not evaluated: stale data must neither fire nor resolve anything)."""
    return list(
        Alert.objects.filter(status__in=LIVE_STATUSES, rule__inhibits=True)
        .values_list("rule__key", flat=True)
        .distinct()
    )


def _labels(rule, series):
    labels = {**(rule.labels or {}), "rule": rule.key, "metric": rule.metric}
    kind, _, ident = series.partition(":")
    if ident:
        labels["country" if kind == "region" else kind] = ident
    return labels


def _fmt(value):
    return "none" if value is None else format(Decimal(value).normalize(), "f")


def _transition(rule, series, now, before, after, value, limit):
    return SeriesTransition(
        rule=rule,
        series=series,
        at=now,
        from_state=before,
        to_state=after,
        value=value,
        threshold=limit,
    )


def evaluate_rule(rule, *, now=None):
    """Evaluate one rule at `now`; returns its RuleEvaluation (history row)."""
    now = now or timezone.now()
    started = time.perf_counter()
    record = RuleEvaluation(rule=rule, at=now, duration_ms=0)
    kind = m.metric_kind(rule.metric)
    try:
        if kind is None:
            record.skipped = f"unknown metric {rule.metric}"
        elif kind in ("aggregate", "agent") and not rule.inhibits and (held := inhibitors()):
            # Aggregates and agent floats are both written by ingestion: both are stale.
            record.skipped = "inhibited by " + ", ".join(sorted(held))
        else:
            _evaluate(rule, now, record, kind)
    except Exception as exc:
        logger.exception("alerts: evaluation of rule %s failed", rule.key)
        record.error = f"{type(exc).__name__}: {exc}"[:2000]
    elapsed = time.perf_counter() - started
    record.duration_ms = Decimal(str(round(elapsed * 1000, 3)))
    RULE_EVALUATION_SECONDS.labels(rule=rule.key).observe(elapsed)
    record.save()
    return record


def _evaluate(rule, now, record, kind):
    states = {s.series: s for s in RuleSeriesState.objects.filter(rule=rule)}
    values = current_values(rule, now, active=states.keys())
    compare = COMPARE[rule.comparator]
    transitions, bumps = [], []
    to_raise, to_resolve = [], []
    for series in set(values) | set(states):
        st = states.get(series)
        if series in values:
            value, limit = values[series]
            breach = limit is not None and compare(value, limit)
        else:  # NoData: an active series without data in its window
            value, limit = None, None
            if rule.no_data_state == NoDataState.KEEP:
                st.evaluated_at = now
                st.save(update_fields=["evaluated_at"])
                continue
            breach = rule.no_data_state == NoDataState.ALERTING
        if breach:
            record.breaching += 1
            if st is None:
                st = RuleSeriesState(
                    rule=rule,
                    series=series,
                    state=SeriesState.PENDING,
                    since=now,
                    breach_since=now,
                    evaluated_at=now,
                )
                transitions.append(
                    _transition(rule, series, now, SeriesState.NORMAL, "pending", value, limit)
                )
            st.last_breach_at = now
            st.value = value
            st.evaluated_at = now
            if st.state == SeriesState.PENDING and now - st.breach_since >= rule.for_duration:
                st.state = SeriesState.FIRING
                st.since = now
                transitions.append(
                    _transition(rule, series, now, "pending", "firing", value, limit)
                )
                to_raise.append((series, value, limit))
            elif st.state == SeriesState.FIRING:
                bumps.append((series, value, limit))
            st.save()
        elif st is not None:
            if st.state == SeriesState.PENDING:
                transitions.append(
                    _transition(rule, series, now, "pending", SeriesState.NORMAL, value, limit)
                )
                st.delete()
            elif now < (st.last_breach_at or now) + rule.keep_firing_for:
                st.value = value
                st.evaluated_at = now
                st.save(update_fields=["value", "evaluated_at"])
                bumps.append((series, value, limit))
            else:
                transitions.append(
                    _transition(rule, series, now, "firing", SeriesState.RESOLVED, value, limit)
                )
                to_resolve.append(series)
                st.delete()
    SeriesTransition.objects.bulk_create(transitions)
    source = AlertSource.SYSTEM if kind == "system" else AlertSource.THRESHOLD
    for series, value, limit in to_raise:
        alert_raise(
            source=source,
            category=rule.category,
            severity=rule.severity,
            scope=series,
            title=rule.name,
            message=(
                f"{rule.metric} = {_fmt(value)} ({rule.get_comparator_display()} {_fmt(limit)}) "
                f"over {rule.window}, for {rule.for_duration}"
            ),
            labels=_labels(rule, series),
            value=value,
            threshold=limit,
            rule=rule,
            series=series,
            dedupe_key="",
            now=now,
        )
    _bump(rule, bumps, now)
    for series in to_resolve:
        fp = fingerprint_for(source=source, rule=rule, series=series)
        live = Alert.objects.filter(fingerprint=fp, status__in=LIVE_STATUSES).first()
        if live is not None:
            alert_resolve(actor=None, alert_id=live.pk, comment="recovered", now=now)
    record.resolved = len(to_resolve)
    counts = dict(
        RuleSeriesState.objects.filter(rule=rule)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    record.pending = counts.get(SeriesState.PENDING, 0)
    record.firing = counts.get(SeriesState.FIRING, 0)


def _bump(rule, bumps, now):
    """Firing series seen again: one UPDATE for all their live alerts."""
    if not bumps:
        return
    fps = [fingerprint_for(source="", rule=rule, series=s) for s, _, _ in bumps]
    values = [v for _, v, _ in bumps]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE alerts_alert a SET occurrences = a.occurrences + 1, last_seen = %s,"
            " value = COALESCE(u.value, a.value)"
            " FROM unnest(%s::text[], %s::numeric[]) AS u(fp, value)"
            " WHERE a.fingerprint = u.fp AND a.status IN ('open', 'acknowledged')",
            [now, fps, values],
        )


def evaluate_all(*, now=None):
    """One evaluation cycle: every enabled rule, those that inhibit first."""
    now = now or timezone.now()
    rules = list(AlertRule.objects.filter(enabled=True).order_by("-inhibits", "key"))
    results = []
    for rule in rules:
        with transaction.atomic():
            # Short statements: compiling them (JIT) costs more than it saves.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            results.append(evaluate_rule(rule, now=now))
    update_firing_gauge()
    return results


def update_firing_gauge():
    counts = dict(
        Alert.objects.filter(status__in=LIVE_STATUSES)
        .values_list("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for severity in Severity.values:
        ALERTS_FIRING.labels(severity=severity).set(counts.get(severity, 0))


def prune_history(*, now=None):
    """Drop evaluation history and transitions older than ALERTS_EVALUATION_RETENTION_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERTS_EVALUATION_RETENTION_DAYS)
    RuleEvaluation.objects.filter(at__lt=cutoff).delete()
    SeriesTransition.objects.filter(at__lt=cutoff).delete()
