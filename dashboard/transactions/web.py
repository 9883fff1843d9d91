"""The Transactions page: the scope's stored events with filters, infinite scroll and detail.

Rows are rendered on the server; the next page is a sentinel row htmx loads when it
scrolls into view (hx-trigger="revealed"), following the keyset cursor, so scrolling
never skips or repeats a row while events keep arriving. A drill-down link from a
figure (overview card, chart point, top list) opens this page with `figure`, the
scope and the range: the page shows the figure recomputed from the listed events.
"""

import re
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.scope import can_view_dashboards, is_platform_staff, resolve_scope
from common.errors import DomainError, ValidationFailed
from dashboard.choices import EventType, Source
from dashboard.transactions import drilldown, selectors
from dashboard.transactions.api import public_row

FILTERS = (
    "scope", "from", "to", "type", "figure", "source", "currency", "country", "region",
    "city", "amount_min", "amount_max", "event_id", "merchant_id", "agent_id", "bank_id",
)  # fmt: skip
# A browser's datetime-local value (no offset): read as UTC, as the page says.
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def _params(request):
    """The filters of the request, a datetime-local `from`/`to` given seconds and a Z."""
    params = QueryDict(mutable=True)
    for name in FILTERS:
        for value in request.GET.getlist(name):
            value = value.strip()
            if name in ("from", "to") and _LOCAL.fullmatch(value):
                value = value + (":00Z" if len(value) == 16 else "Z")
            if value:
                params.appendlist(name, value)
    for name in ("cursor", "limit"):
        if request.GET.get(name):
            params[name] = request.GET[name]
    return params


def _local(value):
    """An RFC 3339 parameter as a datetime-local input value (UTC)."""
    return value[:16] if value and len(value) >= 16 else ""


def _page_rows(query, staff, params):
    rows, cursor = selectors.transactions_page(query)
    shown = [public_row(r, staff=staff) for r in rows]
    scope_param = urlencode({"scope": params.get("scope", "")})
    for row, raw in zip(shown, rows, strict=True):
        row["detail_url"] = (
            reverse("transactions-detail", args=[raw["event_id"]]) + "?" + scope_param
        )
    next_url = None
    if cursor:
        more = params.copy()
        more["cursor"] = cursor
        next_url = reverse("transactions-rows") + "?" + more.urlencode()
    return shown, next_url


def _context(request):
    staff = is_platform_staff(request.user)
    return {
        "staff": staff,
        "types": EventType.values,
        "sources": Source.choices,
        "figures": list(drilldown.FIGURES),
        "scope": request.GET.get("scope", ""),
    }


@login_required
@require_GET
def transactions_page(request):
    """Filters, the figure of a drill-down, and the first page of rows."""
    context = _context(request)
    if not can_view_dashboards(request.user):
        context["forbidden"] = True
        return render(request, "dashboard/transactions.html", context, status=403)
    params = _params(request)
    try:
        scope = resolve_scope(request.user, params.get("scope"))
    except DomainError as exc:
        if exc.status_code == 403:
            context["forbidden"] = exc.detail
            return render(request, "dashboard/transactions.html", context, status=403)
        context["errors"] = exc.errors or {"scope": [exc.detail]}
        context["values"] = params
        return render(request, "dashboard/transactions.html", context, status=400)
    params["scope"] = str(scope)
    context["scope"] = str(scope)
    context["values"] = params
    context["from_local"] = _local(params.get("from"))
    context["to_local"] = _local(params.get("to"))
    try:
        query = selectors.parse_query(scope, params)
    except ValidationFailed as exc:
        context["errors"] = exc.errors
        return render(request, "dashboard/transactions.html", context, status=400)
    rows, next_url = _page_rows(query, context["staff"], params)
    context.update(rows=rows, next_url=next_url)
    if query.figure:
        context["figure"] = query.figure
        context["figure_sum"] = selectors.drilldown_sum(query)
        context["figure_ratio"] = query.figure in drilldown.RATIOS
    csv = params.copy()
    csv.pop("cursor", None)
    csv["format"] = "csv"
    context["csv_url"] = reverse("dashboard-transactions") + "?" + csv.urlencode()
    return render(request, "dashboard/transactions.html", context)


@login_required
@require_GET
def transactions_rows(request):
    """The next page of rows (htmx: swapped in place of the sentinel that asked for it)."""
    params = _params(request)
    try:
        scope = resolve_scope(request.user, params.get("scope"))
        query = selectors.parse_query(scope, params)
    except DomainError as exc:
        return render(request, "dashboard/transactions_rows.html",
                      {"error": exc.detail}, status=exc.status_code)  # fmt: skip
    rows, next_url = _page_rows(query, is_platform_staff(request.user), params)
    return render(request, "dashboard/transactions_rows.html",
                  {"rows": rows, "next_url": next_url})  # fmt: skip


@login_required
@require_GET
def transaction_detail(request, event_id):
    """One event of the scope (a panel for htmx, a page otherwise); another tenant's: 404."""
    template = (
        "dashboard/transaction_detail.html"
        if request.headers.get("HX-Request")
        else "dashboard/transaction_page.html"
    )
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
        row = selectors.transaction_get(scope, event_id)
    except DomainError as exc:
        return render(request, template, {"error": exc.detail}, status=exc.status_code)
    staff = is_platform_staff(request.user)
    return render(request, template, {"tx": public_row(row, staff=staff), "staff": staff,
                                      "scope": str(scope)})  # fmt: skip


def drill_url(figure, scope, frm, to, **cuts):
    """The page's URL listing the events of a figure (scope, [from, to), cuts)."""
    params = {"figure": figure, "scope": str(scope), "from": frm, "to": to}
    params.update({k: v for k, v in cuts.items() if v})
    return reverse("transactions") + "?" + urlencode(params)
