"""The alerts pages: the panel (live: the table refreshes itself through htmx), the
detail of one alert with the metric's chart around it, acknowledge and resolve."""

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.scope import can_view_dashboards, resolve_scope
from alerts import services
from alerts.choices import LIVE_STATUSES, AlertCategory, AlertStatus, Severity
from alerts.selectors import (
    alert_get,
    alert_queryset,
    alert_summary,
    alert_transitions,
    alerts_in_scope,
    metric_points,
)
from common.errors import DomainError

PAGE_LIMIT = 100


def can_view_alerts(user):
    """Who sees the alerts pages (and their menu entry): anyone with a scope to look at."""
    return can_view_dashboards(user)


def can_act(user):
    return can_view_alerts(user) and user.role != "sira_service"


def _filtered(request):
    """The alerts of the page's filters (GET), newest first; bad values are ignored
    choices (the form offers only valid ones), a scope not yours is the 403 page."""
    user = request.user
    if not can_view_alerts(user):
        raise PermissionDenied(_("You may not view alerts."))
    qs = alert_queryset(user)
    chosen = {}
    status = request.GET.get("status", "live")
    if status in AlertStatus.values:
        qs = qs.filter(status=status)
    else:
        status = "live"
        qs = qs.filter(status__in=LIVE_STATUSES)
    chosen["status"] = status
    for name, choices in (("severity", Severity), ("category", AlertCategory)):
        value = request.GET.get(name, "")
        if value in choices.values:
            qs = qs.filter(**{name: value})
            chosen[name] = value
    scope_text = request.GET.get("scope", "")
    if scope_text:
        try:
            qs = alerts_in_scope(qs, resolve_scope(user, scope_text))
        except DomainError as exc:
            if exc.status_code == 403:
                raise PermissionDenied(exc.detail) from exc
            scope_text = ""
        chosen["scope"] = scope_text
    return qs.order_by("-last_seen", "-id"), chosen


@login_required
def alerts_page(request):
    qs, chosen = _filtered(request)
    context = {
        "alerts": qs[:PAGE_LIMIT],
        "total": qs.count(),
        "summary": alert_summary(request.user),
        "chosen": chosen,
        "statuses": [("live", _("Open and acknowledged")), *AlertStatus.choices],
        "severities": Severity.choices,
        "categories": AlertCategory.choices,
        "query": request.GET.urlencode(),
        "can_act": can_act(request.user),
    }
    return render(request, "alerts/panel.html", context)


@login_required
def alerts_live(request):
    """The table alone, polled by the panel every few seconds (new alerts appear)."""
    qs, _chosen = _filtered(request)
    return render(
        request,
        "alerts/panel_table.html",
        {"alerts": qs[:PAGE_LIMIT], "total": qs.count(), "query": request.GET.urlencode()},
    )


def _alert_or_404(request, alert_id):
    if not can_view_alerts(request.user):
        raise PermissionDenied(_("You may not view alerts."))
    try:
        return alert_get(request.user, alert_id)
    except DomainError as exc:
        raise Http404(exc.detail) from exc


@login_required
def alert_detail(request, alert_id):
    alert = _alert_or_404(request, alert_id)
    chart = None
    if alert.rule_id:
        end = alert.resolved_at or timezone.now()
        start = alert.first_seen - timedelta(hours=24)
        end = min(timezone.now(), end + timedelta(hours=6))
        points = metric_points(alert.rule, alert.scope, start=start, end=end)
        chart = {
            "metric": alert.rule.metric,
            "points": [[b.isoformat(), str(v) if v is not None else None] for b, v in points],
            "threshold": str(alert.threshold) if alert.threshold is not None else None,
            "first_seen": alert.first_seen.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        }
    context = {
        "alert": alert,
        "events": alert.events.select_related("actor"),
        "transitions": alert_transitions(alert),
        "chart": json.dumps(chart) if chart else "",
        "has_chart": bool(chart and chart["points"]),
        "can_act": can_act(request.user),
    }
    return render(request, "alerts/detail.html", context)


@login_required
@require_POST
def alert_transition(request, alert_id, verb):
    alert = _alert_or_404(request, alert_id)
    if not can_act(request.user):
        raise PermissionDenied(_("You may not change alerts."))
    service = {"acknowledge": services.alert_acknowledge, "resolve": services.alert_resolve}[verb]
    comment = request.POST.get("comment", "")[:1000]
    try:
        service(actor=request.user, alert_id=alert.pk, comment=comment)
        text = _("Alert acknowledged.") if verb == "acknowledge" else _("Alert resolved.")
        messages.success(request, text)
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("alert-detail", alert_id=alert.pk)
