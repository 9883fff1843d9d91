"""The metrics explorer: any metric of the time series as a chart, with the API's filters.

The page checks the parameters with the same parser as the API (so a bad field is
shown next to its input, with the API's message) and hands the browser the API URL
of the series; the chart and the CSV download read `/api/dashboard/metrics/...`
with the session, so what is drawn is exactly what the API answers.
"""

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.scope import is_platform_staff, resolve_scope
from common.errors import DomainError, ValidationFailed
from dashboard.choices import Source
from dashboard.snapshots.choices import Granularity, SnapshotPeriod
from dashboard.snapshots.periods import HOUR, floor_hour
from dashboard.snapshots.timeseries import MAX_RANGE, METRICS, parse_series_query
from dashboard.web.overview import scope_label, snapshot

METRIC_GROUPS = (
    (
        gettext_lazy("Amounts"),
        (
            ("gmv", gettext_lazy("Gross volume (GMV)")),
            ("revenue", gettext_lazy("Revenue")),
            ("fees", gettext_lazy("Fees")),
            ("refunds_amount", gettext_lazy("Refunded amount")),
            ("disputes_amount", gettext_lazy("Disputed amount")),
            ("payouts_amount", gettext_lazy("Payouts amount")),
            ("fraud_amount", gettext_lazy("Fraud amount")),
            ("cash_in_amount", gettext_lazy("Cash-in amount")),
            ("cash_out_amount", gettext_lazy("Cash-out amount")),
            ("sales", gettext_lazy("Agent sales (cash-in + cash-out)")),
        ),
    ),
    (
        gettext_lazy("Counts"),
        (
            ("attempts", gettext_lazy("Payment attempts")),
            ("success_count", gettext_lazy("Successful transactions")),
            ("failed_count", gettext_lazy("Failed payments")),
            ("refunds_count", gettext_lazy("Refunds")),
            ("disputes_count", gettext_lazy("Disputes")),
            ("payouts_count", gettext_lazy("Payouts")),
            ("payouts_failed_count", gettext_lazy("Failed payouts")),
            ("fraud_count", gettext_lazy("Fraud flags")),
        ),
    ),
    (
        gettext_lazy("Rates"),
        (
            ("success_rate", gettext_lazy("Success rate")),
            ("conversion_rate", gettext_lazy("Conversion rate")),
            ("fraud_rate_bps", gettext_lazy("Fraud rate (bps)")),
        ),
    ),
)
METRIC_LABELS = {key: label for _group, items in METRIC_GROUPS for key, label in items}
DEFAULT_METRIC = "gmv"
DEFAULT_CURRENCY = "XOF"
DEFAULT_DAYS = 7
# Quick ranges: (days, granularity) - hourly as long as the API allows it.
PRESETS = (
    (1, Granularity.HOUR),
    (7, Granularity.HOUR),
    (30, Granularity.DAY),
    (90, Granularity.DAY),
)


def _parse_date(name, text, errors):
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def explorer_form(params, today):
    """The form's values from the query string, with the defaults: gmv in XOF, hourly, the
    last 7 days. Returns (values, errors of the date fields)."""
    errors = {}
    values = {
        "metric": params.get("metric") or DEFAULT_METRIC,
        "granularity": params.get("granularity") or Granularity.HOUR,
        "currency": (params.get("currency") or "").strip(),
        "source": params.get("source") or "",
        "country": (params.get("country") or "").strip().upper(),
        "region": (params.get("region") or "").strip(),
        "city": (params.get("city") or "").strip(),
        "chart": "bar" if params.get("chart") == "bar" else "line",
    }
    # An absent currency is XOF for money metrics (they need one) and every currency for
    # counts and rates; an emptied one is kept, so that a money metric without a currency
    # shows the API's message at the field.
    metric = METRICS.get(values["metric"])
    if "currency" not in params and metric is not None and metric.needs_currency:
        values["currency"] = DEFAULT_CURRENCY
    to_text = params.get("to") or today.isoformat()
    from_text = params.get("from") or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    values["to"], values["from"] = to_text, from_text
    values["to_date"] = _parse_date("to", to_text, errors)
    values["from_date"] = _parse_date("from", from_text, errors)
    return values, errors


def api_params(values, scope, now):
    """The time-series API's parameters of the form: whole UTC days [from, to], hourly
    series stopping at the end of the current hour (no empty future hours)."""
    frm = datetime.combine(values["from_date"], datetime.min.time(), tzinfo=UTC)
    to = datetime.combine(values["to_date"], datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    if values["granularity"] == Granularity.HOUR:
        to = max(min(to, floor_hour(now) + HOUR), frm) if to > frm else to
    params = {
        "scope": str(scope),
        "from": frm.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": to.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "granularity": values["granularity"],
    }
    for name in ("currency", "source", "country", "region", "city"):
        if values[name]:
            params[name] = values[name]
    return params


def currencies_seen(scope):
    """Currencies the scope moved in the last 30 days (from its snapshot), XOF always."""
    try:
        data = snapshot(scope, SnapshotPeriod.D30)
    except Exception:  # noqa: BLE001 - the choice list is a convenience; the API validates
        return [DEFAULT_CURRENCY]
    return sorted({DEFAULT_CURRENCY, *(data.get("amounts") or {})})


def countries_seen(scope):
    try:
        data = snapshot(scope, SnapshotPeriod.D30)
    except Exception:  # noqa: BLE001 - suggestions only
        return []
    return sorted({e["country"] for e in data.get("top_countries") or [] if e.get("country")})


def presets(values, scope, today):
    """Quick ranges ending today: (days, link, whether it is the range shown)."""
    out = []
    for days, granularity in PRESETS:
        start = today - timedelta(days=days - 1)
        query = {k: values[k] for k in ("metric", "currency", "source", "country", "region",
                                         "city", "chart") if values[k]}  # fmt: skip
        query.update(
            {"from": start.isoformat(), "to": today.isoformat(), "granularity": granularity}
        )
        current = (
            values["from"] == start.isoformat()
            and values["to"] == today.isoformat()
            and values["granularity"] == granularity
        )
        out.append((days, "?" + urlencode({"scope": str(scope), **query}), current))
    return out


@login_required
@require_GET
def explorer_page(request):
    """A metric of a scope over time, as a chart with its CSV, or the fields to fix."""
    now = datetime.now(UTC)
    today = now.date()
    values, errors = explorer_form(request.GET, today)
    staff = is_platform_staff(request.user)
    context = {
        "staff": staff,
        "values": values,
        "groups": METRIC_GROUPS,
        "money_metrics": [k for k, m in METRICS.items() if m.needs_currency],
        "sources": Source.choices,
        "granularities": Granularity.choices,
        "scope": request.GET.get("scope", ""),
        "max_hour_days": MAX_RANGE[Granularity.HOUR].days,
    }
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        if exc.status_code == 403:
            context.update(forbidden=exc.detail)
            return render(request, "dashboard/explorer.html", context, status=403)
        errors.update(exc.errors or {"scope": [exc.detail]})
        scope = None
    if scope is not None:
        context.update(
            scope=str(scope),
            scope_label=scope_label(scope),
            currencies=currencies_seen(scope),
            countries=countries_seen(scope),
        )
    metric = values["metric"]
    if scope is not None and not errors:
        params = api_params(values, scope, now)
        try:
            parse_series_query(metric=metric, scope=scope, params=params, now=now)
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
    if errors:
        context["errors"] = errors
        return render(request, "dashboard/explorer.html", context, status=400)
    api = reverse("dashboard-metric-timeseries", args=[metric]) + "?" + urlencode(params)
    kind = METRICS[metric].kind
    context.update(
        presets=presets(values, scope, today),
        metric_label=METRIC_LABELS.get(metric, metric),
        chart_config={
            "api": api,
            "metric": metric,
            "label": str(METRIC_LABELS.get(metric, metric)),
            "kind": kind,
            "currency": values["currency"] if kind == "money" else "",
            "granularity": values["granularity"],
            "chart": values["chart"],
        },
        csv_url=api + "&format=csv",
        api_url=api,
    )
    return render(request, "dashboard/explorer.html", context)
