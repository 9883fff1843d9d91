"""The SIRA feed page and one recommendation's page (explanation bars, SIRA's estimate
beside our backtest, apply and reject), plus the panel shown in the ops console's action
detail. Every page checks the same rule as the API (sira.selectors)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.errors import DomainError, NotFound
from opsactions.audit import context_from_request
from sira import services
from sira.choices import Priority, RecStatus, RecType
from sira.impact import recommendation_impact
from sira.selectors import (
    acceptance_by_model,
    action_is_open,
    can_apply,
    can_view_sira,
    recommendation_audit,
    recommendation_for_action,
    recommendation_get,
    recommendation_queryset,
)

PAGE_SIZE = 20


def sira_page(view):
    """Sign-in required; the 403 page for roles that may not see SIRA."""

    @login_required
    def guarded(request, *args, **kwargs):
        if not can_view_sira(request.user):
            raise PermissionDenied("Your account may not open SIRA.")
        return view(request, *args, **kwargs)

    guarded.__name__ = view.__name__
    guarded.__doc__ = view.__doc__
    return guarded


def features_of(rec):
    """Explanation features with what the bars need (magnitude 0..1, sign)."""
    rows = []
    for feature in rec.explanation.get("features", []):
        value = float(feature.get("contribution", 0))
        rows.append(
            {
                "name": feature.get("name", ""),
                "value": feature.get("value", ""),
                "contribution": value,
                "magnitude": min(abs(value), 1.0),
                "negative": value < 0,
            }
        )
    return sorted(rows, key=lambda r: -r["magnitude"])


def _choice(request, name, values):
    value = request.GET.get(name, "")
    return (value, "") if not value or value in values else ("", value)


@sira_page
def feed(request):
    """Recommendations visible to the user, newest first, filtered; acceptance per model."""
    status, bad_status = _choice(request, "status", RecStatus.values)
    rec_type, bad_type = _choice(request, "type", RecType.values)
    priority, bad_priority = _choice(request, "priority", Priority.values)
    bad = bad_status or bad_type or bad_priority
    listed = recommendation_queryset(request.user)
    if status:
        listed = listed.filter(status=status)
    if rec_type:
        listed = listed.filter(rec_type=rec_type)
    if priority:
        listed = listed.filter(priority=priority)
    page_raw = request.GET.get("page", "1")
    page_number = int(page_raw) if page_raw.isdigit() and 0 < int(page_raw) < 10**6 else 1
    page = Paginator(listed, PAGE_SIZE).get_page(page_number)
    for rec in page:
        rec.features = features_of(rec)[:3]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "total": page.paginator.count,
        "status": status,
        "type": rec_type,
        "priority": priority,
        "statuses": RecStatus.choices,
        "types": RecType.choices,
        "priorities": Priority.choices,
        "filter_query": query.urlencode(),
        "models": acceptance_by_model(request.user),
        "error": _("Unknown filter value %(value)r.") % {"value": bad} if bad else "",
    }
    return render(request, "sira/feed.html", context, status=400 if bad else 200)


def _visible(user, rec_id):
    try:
        return recommendation_get(user, rec_id)
    except NotFound:
        raise Http404("Recommendation not found.")


def _render_detail(request, rec, *, error="", status=200):
    actionable = rec.status == RecStatus.NEW and not action_is_open(rec) and can_apply(request.user)
    context = {
        "rec": rec,
        "features": features_of(rec),
        "impact": recommendation_impact(rec),
        "audit": list(recommendation_audit(rec.pk)),
        "actionable": actionable,
        "can_apply": can_apply(request.user),
        "action_open": action_is_open(rec),
        "error": error,
    }
    return render(request, "sira/detail.html", context, status=status)


@sira_page
def detail(request, rec_id):
    """One recommendation: explanation, estimate and backtest, apply and reject."""
    return _render_detail(request, _visible(request.user, rec_id))


@require_POST
@sira_page
def apply(request, rec_id):
    """Apply: request the ops action in the user's name, then show it in the ops console."""
    rec = _visible(request.user, rec_id)
    try:
        action = services.recommendation_apply(
            actor=request.user, rec_id=rec.pk, context=context_from_request(request)
        )
    except DomainError as exc:
        fresh = _visible(request.user, rec_id)
        return _render_detail(
            request, fresh, error=f"{exc.detail} ({exc.code})", status=exc.status_code
        )
    messages.success(
        request,
        _("Ops action #%(id)s requested: it now needs its approvals.") % {"id": action.pk},
    )
    return redirect("ops-detail", action_id=action.pk)


@require_POST
@sira_page
def reject(request, rec_id):
    """Reject with a reason."""
    rec = _visible(request.user, rec_id)
    try:
        services.recommendation_reject(
            actor=request.user,
            rec_id=rec.pk,
            reason=request.POST.get("reason", ""),
            context=context_from_request(request),
        )
    except DomainError as exc:
        fresh = _visible(request.user, rec_id)
        return _render_detail(
            request, fresh, error=f"{exc.detail} ({exc.code})", status=exc.status_code
        )
    messages.success(request, _("Recommendation rejected."))
    return redirect("sira-detail", rec_id=rec.pk)


def action_panel(request, action):
    """The ops console's panel: the recommendation an action came from (for approvers)."""
    rec = recommendation_for_action(action.pk)
    if rec is None:
        return ""
    return render_to_string(
        "sira/action_panel.html",
        {"rec": rec, "features": features_of(rec), "can_open": can_view_sira(request.user)},
        request=request,
    )
