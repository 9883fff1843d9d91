"""The overview page: KPI cards of one scope and period, read from the same snapshot bytes
the API serves, their sparklines (one JSON request for every card), top countries and
merchants, and a live partial that htmx polls.

Every figure shown comes from the snapshot as it is; the page only chooses which one to
show (the reporting-currency conversion when a scope has several currencies) and formats
it. The raw value goes into a data-value attribute, so a test can hold the page to the API.
"""

import functools
import hashlib
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import orjson
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.choices import ScopeKind
from accounts.scope import Scope, can_view, is_platform_staff, resolve_scope
from common.errors import DomainError
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.snapshots.overview import SnapshotPending, overview_body
from dashboard.templatetags.money import amount, money, percent, to_decimal
from dashboard.web.overview_cards import COMPARED_WITH, CardBuilder
from dashboard.web.overview_series import parse_time, sparkline_series

PERIOD_LABELS = {
    SnapshotPeriod.TODAY: gettext_lazy("Today"),
    SnapshotPeriod.H24: gettext_lazy("24 hours"),
    SnapshotPeriod.D7: gettext_lazy("7 days"),
    SnapshotPeriod.D30: gettext_lazy("30 days"),
}
SCOPE_KIND_LABELS = {
    ScopeKind.MERCHANT: gettext_lazy("Merchant"),
    ScopeKind.AGENT: gettext_lazy("Agent"),
    ScopeKind.BANK: gettext_lazy("Bank"),
    ScopeKind.REGION: gettext_lazy("Country"),
}
SERIES_CACHE_S = 120


class PageError(Exception):
    """A request the page refuses: the status and a message for the reader."""

    def __init__(self, status, message, errors=None, code="invalid"):
        super().__init__(message)
        self.status, self.message, self.errors, self.code = status, message, errors or {}, code


def scope_label(scope):
    """A scope in words: "Merchant m_1042", "Country SN", "Platform"."""
    if scope.is_platform:
        return _("Platform (all of Molam)")
    return f"{SCOPE_KIND_LABELS.get(scope.kind, scope.kind)} {scope.id}"


def parse_request(request):
    """(scope, period) of a request, or PageError (400 bad input, 403 scope not allowed)."""
    period = request.GET.get("period") or SnapshotPeriod.H24
    if period not in SnapshotPeriod.values:
        raise PageError(
            400,
            _("Unknown period “%(period)s”: use today, 24h, 7d or 30d.") % {"period": period},
            {"period": [_("Choose today, 24h, 7d or 30d.")]},
            code="invalid_period",
        )
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        raise PageError(exc.status_code, exc.detail, exc.errors, exc.code) from exc
    return scope, period


def snapshot(scope, period):
    """The overview document of `scope` and `period` (the API's bytes, parsed); PageError
    503 while the scope's first snapshot is computed (a read never computes it)."""
    try:
        return orjson.loads(overview_body(scope, period))
    except SnapshotPending as exc:
        raise PageError(
            503,
            _("The figures of this scope are being computed: reload in a few seconds."),
            code=exc.default_code,
        ) from exc


def version(data):
    """What changes when the snapshot does: the live partial answers 204 while it is the same."""
    return f"{data.get('computed_at')}|{int(bool(data.get('stale')))}"


CURRENCY_COLUMNS = (
    ("gmv", gettext_lazy("Volume")),
    ("revenue", gettext_lazy("Revenue")),
    ("fees", gettext_lazy("Fees")),
    ("refunds_amount", gettext_lazy("Refunds")),
    ("payouts_amount", gettext_lazy("Payouts")),
    ("fraud_amount", gettext_lazy("Fraud")),
)


def currency_rows(data):
    """The per-currency figures of the period, exact, the reporting currency first."""
    quote = (data.get("converted") or {}).get("currency")
    amounts = data.get("amounts") or {}
    rows = []
    for c in sorted(amounts, key=lambda c: (c != quote, c)):
        figures = amounts[c]
        rows.append(
            {
                "currency": c,
                "cells": [
                    (k, figures.get(k, "0"), amount(figures.get(k, "0"), c))
                    for k, _l in CURRENCY_COLUMNS
                ],
            }
        )
    return rows


def has_activity(data):
    return any(v for v in (data.get("counts") or {}).values()) or bool(data.get("amounts"))


def top_rows(entries, key, total, user, scope, period, make_scope):
    """Top-list rows with their share of the scope's volume and a drill-down link when the
    user may open that scope (platform staff) and it is not the one shown."""
    rows = []
    top = max((to_decimal(e.get("gmv")) or Decimal(0) for e in entries), default=Decimal(0))
    total = to_decimal(total) or Decimal(0)
    for e in entries:
        gmv = to_decimal(e.get("gmv")) or Decimal(0)
        target = make_scope(e[key])
        link = None
        if target is not None and target != scope and can_view(user, target):
            link = "?" + urlencode({"scope": str(target), "period": period})
        rows.append(
            {
                "id": e[key],
                "gmv": e.get("gmv"),
                "currency": e.get("currency"),
                "display": money(e.get("gmv"), e.get("currency")),
                "bar": int(gmv * 100 / top) if top else 0,
                "share": percent(gmv / total) if total else "—",
                "missing": e.get("missing_rates") or [],
                "link": link,
            }
        )
    return rows


def _safe_scope(text):
    try:
        return Scope.parse(text)
    except DomainError:
        return None


def live_context(request, scope, period, data):
    """What the live partial (status line, cards, top lists) shows."""
    quote = (data.get("converted") or {}).get("currency") or "XOF"
    total = (data.get("converted") or {}).get("gmv")
    return {
        "data": data,
        "scope": str(scope),
        "period": period,
        "version": version(data),
        "as_of": parse_time(data.get("as_of")),
        "computed_at": parse_time(data.get("computed_at")),
        "window_from": parse_time(data.get("from")),
        "window_to": parse_time(data.get("to")),
        "cards": CardBuilder(data, scope, period).cards(),
        "active": has_activity(data),
        "quote": quote,
        "missing_rates": (data.get("converted") or {}).get("missing_rates") or [],
        "top_countries": top_rows(
            data.get("top_countries") or [],
            "country",
            total,
            request.user,
            scope,
            period,
            lambda cc: _safe_scope(f"region:{cc}"),
        ),
        "top_merchants": top_rows(
            data.get("top_merchants") or [],
            "merchant_id",
            total,
            request.user,
            scope,
            period,
            lambda m: _safe_scope(f"merchant:{m}"),
        ),
        "show_merchants": scope.kind in (ScopeKind.PLATFORM, ScopeKind.BANK),
        # A country's own overview would list itself alone.
        "show_countries": scope.kind != ScopeKind.REGION,
        "currency_columns": CURRENCY_COLUMNS,
        "currency_rows": currency_rows(data),
        "compared": COMPARED_WITH[period],
    }


def _page_context(request, period):
    return {
        "periods": [(p, PERIOD_LABELS[p]) for p in SnapshotPeriod.values],
        "period": period,
        "staff": is_platform_staff(request.user),
    }


# ------------------------------------------------------------------ views


@login_required
@require_GET
def overview_page(request):
    """The overview of one scope and period, from the same snapshot bytes the API serves."""
    asked_period = request.GET.get("period") or SnapshotPeriod.H24
    context = _page_context(request, asked_period)
    context["scope"] = request.GET.get("scope", "")
    try:
        scope, period = parse_request(request)
        data = snapshot(scope, period)
    except PageError as exc:
        context.update(error=exc.message, errors=exc.errors, status=exc.status)
        if asked_period not in SnapshotPeriod.values:
            context["period"] = SnapshotPeriod.H24
        return render(request, "dashboard/overview.html", context, status=exc.status)
    context.update(live_context(request, scope, period, data))
    context["scope_label"] = scope_label(scope)
    return render(request, "dashboard/overview.html", context)


def _htmx_login_required(view):
    """login_required, except that an htmx poll whose session ended sends the whole page
    to the sign-in page (HX-Redirect) instead of swapping the sign-in form into it."""
    guarded = login_required(view)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            current = urlsplit(request.headers.get("HX-Current-URL") or "")
            page = current.path or reverse("dashboard-overview")
            if current.query:
                page += "?" + current.query
            response = HttpResponse(status=204)
            response["HX-Redirect"] = f"{reverse('login')}?{urlencode({'next': page})}"
            return response
        return guarded(request, *args, **kwargs)

    return wrapper


@_htmx_login_required
@require_GET
def overview_cards(request):
    """The live part of the overview (htmx polls it): 204 while the snapshot is unchanged."""
    try:
        scope, period = parse_request(request)
        data = snapshot(scope, period)
    except PageError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    if request.GET.get("v") == version(data):
        return HttpResponse(status=204)
    context = _page_context(request, period)
    context.update(live_context(request, scope, period, data))
    return render(request, "dashboard/overview_live.html", context)


@login_required
@require_GET
def overview_series(request):
    """Every KPI card's sparkline series of a scope and period, in one JSON document."""
    try:
        scope, period = parse_request(request)
    except PageError as exc:
        return JsonResponse(
            {"detail": exc.message, "code": exc.code, "errors": exc.errors}, status=exc.status
        )
    try:
        raw = overview_body(scope, period)
    except SnapshotPending as exc:
        return JsonResponse({"detail": str(exc.detail), "code": exc.default_code}, status=503)
    data = orjson.loads(raw)
    # Keyed by the snapshot's bytes: every viewer of a scope shares one computation per
    # snapshot refresh, and a new snapshot is a new key.
    key = f"overview-series:v1:{scope}:{period}:{hashlib.blake2b(raw, digest_size=12).hexdigest()}"
    body = cache.get(key)
    if body is None:
        cards = CardBuilder(data, scope, period).cards()
        body = orjson.dumps(sparkline_series(scope, period, data, cards))
        cache.set(key, body, SERIES_CACHE_S)
    return HttpResponse(body, content_type="application/json")
