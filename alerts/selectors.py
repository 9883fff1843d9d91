"""Reads of the alerts app; every read that depends on who asks goes through accounts.scope."""

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
