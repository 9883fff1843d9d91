"""Server-rendered dashboard pages (session login, same tenant-scope rules as the API)."""

import orjson
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.scope import is_platform_staff, resolve_scope
from common.errors import DomainError
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.snapshots.overview import overview_body


@login_required
def overview_page(request):
    """The overview of one scope and period, from the same snapshot bytes the API serves."""
    period = request.GET.get("period") or SnapshotPeriod.H24
    context = {
        "periods": SnapshotPeriod.values,
        "period": period,
        "staff": is_platform_staff(request.user),
        "asked": request.GET.get("scope", ""),
        "scope": "",
    }
    if period not in SnapshotPeriod.values:
        context["error"] = f"Unknown period {period!r}."
        return render(request, "dashboard/overview.html", context, status=400)
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        context["error"] = exc.detail
        return render(request, "dashboard/overview.html", context, status=exc.status_code)
    data = orjson.loads(overview_body(scope, period))
    context.update(
        scope=str(scope),
        data=data,
        amounts=sorted(data.get("amounts", {}).items()),
        floats=sorted(data.get("float", {}).items()),
    )
    return render(request, "dashboard/overview.html", context)
