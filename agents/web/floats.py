"""The float treasury page: float per country and currency, agents near or under their
low-float threshold, and the float history."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.scope import is_platform_staff, resolve_scope
from agents.api.serializers import money
from agents.models import Agent
from agents.selectors import (
    LOW_FLOAT_WATCH_RATIO,
    AgentVisibility,
    agent_float_by_city,
    agent_float_by_country,
    agent_float_history,
    agents_low_float,
)
from agents.web import visibility_or_403
from common.errors import DomainError

# History windows offered: key -> (bucket unit, number of buckets, label).
WINDOWS = {
    "48h": ("hour", 48, gettext_lazy("48 hours")),
    "30d": ("day", 30, gettext_lazy("30 days")),
    "90d": ("day", 90, gettext_lazy("90 days")),
}
DEFAULT_WINDOW = "30d"
PAGE_SIZE = 50


def _windows():
    """The windows whose start (and the hour before it) is still in the float history."""
    keep = settings.AGENTS_HISTORY_RETENTION_DAYS - 1
    return {key: w for key, w in WINDOWS.items() if (w[1] if w[0] == "day" else w[1] / 24) <= keep}


def _window_start(unit, buckets, now):
    """The first bucket of a window ending with the current UTC hour or day."""
    if unit == "hour":
        return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=buckets - 1)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=buckets - 1)


def _history_payload(rows, unit, start, buckets):
    """Chart data: the bucket times and, per (country, currency), exact decimal strings.
    Series that are zero all along (e.g. a currency an agent left before the window) go."""
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    series = {}
    for row in rows:
        series.setdefault((row["country"], row["currency"]), []).append(row["total"])
    return {
        "unit": unit,
        "buckets": [(start + step * i).isoformat() for i in range(buckets)],
        "series": [
            {"country": country, "currency": currency, "values": [money(v) for v in values]}
            for (country, currency), values in sorted(series.items(), key=lambda kv: kv[0][::-1])
            if any(values)
        ],
    }


def _describe(visibility):
    if visibility.agent_id is not None:
        return _("Agent %(agent)s") % {"agent": visibility.agent_id}
    if visibility.country is not None:
        return _("Country %(country)s") % {"country": visibility.country}
    return _("All agents")


def _error(request, context, message, status):
    context["error"] = message
    return render(request, "agents/float.html", context, status=status)


@login_required
def float_page(request):
    """Float treasury of the visible agents (staff may narrow to a country or an agent)."""
    visibility = visibility_or_403(request.user)
    windows = _windows()
    window = request.GET.get("window") or DEFAULT_WINDOW
    context = {
        "windows": [(key, w[2]) for key, w in windows.items()],
        "window": window,
        "scope": request.GET.get("scope", ""),
        "watch_percent": int(LOW_FLOAT_WATCH_RATIO * 100),
    }
    if window not in windows:
        return _error(request, context, _("Unknown history window %(w)r.") % {"w": window}, 400)
    page_text = request.GET.get("page") or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        return _error(request, context, _("The page must be a positive whole number."), 400)
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
        if is_platform_staff(request.user):
            visibility = AgentVisibility.for_scope(scope)
    except DomainError as exc:
        return _error(request, context, exc.detail, exc.status_code)
    context["scope"] = "" if scope.is_platform else str(scope)

    by_country = agent_float_by_country(visibility)
    currencies = {}
    for row in by_country:
        cur = currencies.setdefault(
            row["currency"],
            {"currency": row["currency"], "total": Decimal(0), "agents": 0, "low": 0, "near": 0},
        )
        cur["total"] += row["float_total"]
        cur["agents"] += row["agents"]
        cur["low"] += row["low_float"]
        cur["near"] += row["near_low"]
    # Decimal strings for the page's data-* attributes (formatted by float.js); the
    # template must not print Decimals itself: it would localize them ("1,5" in French).
    for row in by_country:
        total = currencies[row["currency"]]["total"]
        row["share"] = money(row["float_total"] / total) if total else ""
        row["float_text"] = money(row["float_total"])
        row["sales_text"] = money(row["sales_24h"])
    for cur in currencies.values():
        cur["total_text"] = money(cur["total"])
    # The currency with most agents leads (XOF in West Africa), in the table too.
    currency_list = sorted(currencies.values(), key=lambda c: (-c["agents"], c["currency"]))
    rank = {c["currency"]: i for i, c in enumerate(currency_list)}
    by_country.sort(key=lambda row: (rank[row["currency"]], -row["float_total"], row["country"]))

    low_page = Paginator(agents_low_float(visibility), PAGE_SIZE).get_page(int(page_text))
    low_rows = [
        {
            "agent": a,
            "float": money(a.float_balance),
            "threshold": money(a.low_float_threshold),
            "share": money(a.share),
        }
        for a in low_page.object_list
    ]

    unit, buckets, _label = windows[window]
    start = _window_start(unit, buckets, datetime.now(UTC))
    history = agent_float_history(visibility, start=start, buckets=buckets, unit=unit)

    # One country in view: the bars break it down by city instead of one lone bar.
    countries = {row["country"] for row in by_country}
    if len(countries) == 1:
        bars = {
            "kind": "city",
            "rows": [
                {
                    "label": row["city"],
                    "currency": row["currency"],
                    "float": money(row["float_total"]),
                }
                for row in agent_float_by_city(visibility)
            ],
        }
    else:
        bars = {
            "kind": "country",
            "rows": [
                {"label": row["country"], "currency": row["currency"], "float": row["float_text"]}
                for row in by_country
            ],
        }
    own = None
    if visibility.agent_id is not None:
        agent = Agent.objects.filter(agent_id=visibility.agent_id).first()
        if agent is not None and agent.float_updated_at is not None:
            own = {
                "agent": agent,
                "float": money(agent.float_balance),
                "threshold": money(agent.low_float_threshold),
                "share": money(agent.float_balance / agent.low_float_threshold)
                if agent.low_float_threshold
                else "",
                "sales": money(agent.sales_24h),
            }

    context.update(
        own=own,
        description=_describe(visibility),
        visibility=visibility,
        currencies=currency_list,
        by_country=by_country,
        low_page=low_page,
        low_rows=low_rows,
        low_count=low_page.paginator.count,
        below_count=sum(c["low"] for c in currency_list),
        near_count=sum(c["near"] - c["low"] for c in currency_list),
        chart_data={
            "currencies": [c["currency"] for c in currency_list],
            "bars": bars,
            "history": _history_payload(history, unit, start, buckets),
        },
    )
    return render(request, "agents/float.html", context)
