"""The overview page: KPI cards of one scope and period, read from the same snapshot bytes
the API serves, their sparklines (one JSON request for every card), top countries and
merchants, and a live partial that htmx polls.

Every figure shown comes from the snapshot as it is; the page only chooses which one to
show (the reporting-currency conversion when a scope has several currencies) and formats
it. The raw value goes into a data-value attribute, so a test can hold the page to the API.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import orjson
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.choices import ScopeKind
from accounts.scope import Scope, can_view, is_platform_staff, resolve_scope
from common.errors import DomainError
from dashboard.snapshots.choices import Granularity, SnapshotPeriod
from dashboard.snapshots.fx import RateBook
from dashboard.snapshots.overview import overview_body
from dashboard.snapshots.periods import floor_day
from dashboard.snapshots.timeseries import METRICS, parse_series_query, series_points
from dashboard.templatetags.money import amount, bps, count, money, percent, to_decimal

PERIOD_LABELS = {
    SnapshotPeriod.TODAY: gettext_lazy("Today"),
    SnapshotPeriod.H24: gettext_lazy("24 hours"),
    SnapshotPeriod.D7: gettext_lazy("7 days"),
    SnapshotPeriod.D30: gettext_lazy("30 days"),
}
COMPARED_WITH = {
    SnapshotPeriod.TODAY: gettext_lazy("compared with yesterday, same hours"),
    SnapshotPeriod.H24: gettext_lazy("compared with the previous 24 hours"),
    SnapshotPeriod.D7: gettext_lazy("compared with the previous 7 days"),
    SnapshotPeriod.D30: gettext_lazy("compared with the previous 30 days"),
}
SCOPE_KIND_LABELS = {
    ScopeKind.MERCHANT: gettext_lazy("Merchant"),
    ScopeKind.AGENT: gettext_lazy("Agent"),
    ScopeKind.BANK: gettext_lazy("Bank"),
    ScopeKind.REGION: gettext_lazy("Country"),
}
# Scopes whose agents have a float: merchants and banks have none (agent_float_totals).
FLOAT_SCOPES = {ScopeKind.PLATFORM, ScopeKind.REGION, ScopeKind.AGENT}
# Sparklines: hourly buckets for the short periods, daily for the long ones.
HOURLY_PERIODS = {SnapshotPeriod.TODAY, SnapshotPeriod.H24}
SERIES_CACHE_S = 120
UP_GOOD, UP_BAD, NEUTRAL = 1, -1, 0


class PageError(Exception):
    """A request the page refuses: the status and a message for the reader."""

    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


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
        )
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        raise PageError(exc.status_code, exc.detail, exc.errors) from exc
    return scope, period


def snapshot(scope, period):
    """The overview document of `scope` and `period` (the API's bytes, parsed)."""
    return orjson.loads(overview_body(scope, period))


def version(data):
    """What changes when the snapshot does: the live partial answers 204 while it is the same."""
    return f"{data.get('computed_at')}|{int(bool(data.get('stale')))}"


# ------------------------------------------------------------------ KPI cards


@dataclass
class Change:
    """The change of a figure against the previous period, ready to show."""

    direction: str  # up | down | flat | new
    text: str
    tone: str  # good | bad | neutral
    label: str  # spoken form for screen readers


@dataclass
class Card:
    """One KPI card: a headline figure, its change, a sparkline and per-currency lines."""

    key: str
    label: str
    headline: str
    value: str  # the raw API value of the headline ("" when there is none)
    currency: str = ""
    caption: str = ""
    change: Change | None = None
    breakdown: list = field(default_factory=list)  # [(currency, raw, formatted)]
    spark: dict | None = None  # {"metric", "currency" (None or "*converted")}
    alert: str = ""
    featured: bool = False  # a wide card with a taller chart (gross volume, revenue)

    @property
    def breakdown_split(self):
        """(currencies listed, currencies behind "more"): six fit on a wide card, three else."""
        head = 6 if self.featured else 3
        return self.breakdown[:head], self.breakdown[head:]


def _arrow(direction):
    return {"up": "▲", "down": "▼"}.get(direction, "")


def _tone(direction, polarity):
    if direction not in ("up", "down") or polarity == NEUTRAL:
        return "neutral"
    good = (direction == "up") == (polarity == UP_GOOD)
    return "good" if good else "bad"


def relative_change(current, previous, polarity, compared):
    """% change of an amount or count; "new" when the previous period had none."""
    cur, prev = to_decimal(current), to_decimal(previous)
    if cur is None:
        return None
    if not prev:
        if not cur:
            return None
        spoken = _("New %(compared)s") % {"compared": compared}
        return Change("new", _("New"), _tone("up", polarity), spoken)
    pct = (cur - prev) / abs(prev)
    direction = "flat" if abs(pct) < Decimal("0.0005") else ("up" if pct > 0 else "down")
    text = percent(abs(pct))
    spoken = {"up": _("Up"), "down": _("Down"), "flat": _("Unchanged")}[direction]
    return Change(
        direction,
        f"{_arrow(direction)} {text}".strip(),
        _tone(direction, polarity),
        f"{spoken} {text} {compared}",
    )


def difference_change(current, previous, polarity, compared, *, points):
    """Change of a rate as a difference: percentage points (ratios) or basis points."""
    if current is None:
        return None
    if previous is None:
        return Change("new", _("New"), "neutral", _("New %(compared)s") % {"compared": compared})
    diff = Decimal(str(current)) - Decimal(str(previous))
    if points:
        diff *= 100
        text = _("%(value)s pts") % {"value": amount(abs(diff), "")}
        flat = abs(diff) < Decimal("0.05")
    else:
        text = bps(abs(diff))
        flat = abs(diff) < Decimal("0.005")
    direction = "flat" if flat else ("up" if diff > 0 else "down")
    spoken = {"up": _("Up"), "down": _("Down"), "flat": _("Unchanged")}[direction]
    return Change(
        direction,
        f"{_arrow(direction)} {text}".strip(),
        _tone(direction, polarity),
        f"{spoken} {text} {compared}",
    )


def _nonzero_currencies(amounts, figure):
    return [c for c, figs in amounts.items() if to_decimal(figs.get(figure)) not in (None, 0)]


def _breakdown(amounts, figure, currencies, quote):
    """(currency, raw value, formatted) of each currency, the reporting currency first."""
    ordered = sorted(currencies, key=lambda c: (c != quote, c))
    return [(c, amounts[c][figure], money(amounts[c][figure], c)) for c in ordered]


class CardBuilder:
    """Builds the KPI cards of one overview document."""

    def __init__(self, data, scope, period):
        self.data = data
        self.scope = scope
        self.quote = data.get("converted", {}).get("currency") or "XOF"
        self.amounts = data.get("amounts") or {}
        self.counts = data.get("counts") or {}
        self.rates = data.get("rates") or {}
        self.converted = data.get("converted") or {}
        prev = data.get("previous") or {}
        self.prev_amounts = prev.get("amounts") or {}
        self.prev_counts = prev.get("counts") or {}
        self.prev_rates = prev.get("rates") or {}
        self.prev_converted = prev.get("converted") or {}
        self.compared = str(COMPARED_WITH[period])
        self.missing = self.converted.get("missing_rates") or []

    def _basis(self, figure):
        """The currency a money figure is shown in: the only one it has, else the conversion."""
        seen = _nonzero_currencies(self.amounts, figure)
        if len(seen) > 1:
            return None, seen
        return (seen[0] if seen else self.quote), seen

    def converted_card(self, key, label, polarity):
        """GMV or revenue: the reporting-currency conversion when several currencies moved."""
        currency, seen = self._basis(key)
        if currency is None:
            value = self.converted.get(key, "0")
            caption = _("All currencies, converted to %(currency)s") % {"currency": self.quote}
            if self.missing:
                caption += " · " + _("excluding %(currencies)s (no FX rate)") % {
                    "currencies": ", ".join(self.missing)
                }
            previous = self.prev_converted.get(key)
            spark_currency = "*converted"
            shown = self.quote
            breakdown = _breakdown(self.amounts, key, seen, self.quote)
        else:
            value = self.amounts.get(currency, {}).get(key, "0")
            caption = ""
            previous = self.prev_amounts.get(currency, {}).get(key, "0")
            spark_currency = currency
            shown = currency
            breakdown = []
        return Card(
            key=key,
            label=label,
            headline=amount(value, shown),
            value=value,
            currency=shown,
            caption=caption,
            change=relative_change(value, previous, polarity, self.compared),
            breakdown=breakdown,
            spark={"metric": key, "currency": spark_currency},
            featured=True,
        )

    def amount_card(self, key, label, polarity):
        """A money figure the snapshot does not convert (fees): one currency as the headline,
        the others listed under it."""
        currency, seen = self._basis(key)
        others = []
        caption = ""
        if currency is None:
            currency = self.quote if self.quote in seen else seen[0]
            others = [c for c in seen if c != currency]
            caption = _("In %(currency)s; other currencies below") % {"currency": currency}
        value = self.amounts.get(currency, {}).get(key, "0")
        previous = self.prev_amounts.get(currency, {}).get(key, "0")
        return Card(
            key=key,
            label=label,
            headline=amount(value, currency),
            value=value,
            currency=currency,
            caption=caption,
            change=relative_change(value, previous, polarity, self.compared),
            breakdown=_breakdown(self.amounts, key, others, self.quote),
            spark={"metric": key, "currency": currency},
        )

    def count_card(self, key, label, polarity, money_figure, caption_one):
        """A count (refunds, disputes, payouts) with its amounts per currency."""
        seen = _nonzero_currencies(self.amounts, money_figure)
        value = self.counts.get(key, 0)
        caption = ""
        breakdown = []
        if len(seen) == 1:
            figure = self.amounts[seen[0]][money_figure]
            caption = caption_one % {"amount": money(figure, seen[0])}
        elif seen:
            breakdown = _breakdown(self.amounts, money_figure, seen, self.quote)
        return Card(
            key=key,
            label=label,
            headline=count(value),
            value=str(value),
            caption=caption,
            change=relative_change(value, self.prev_counts.get(key, 0), polarity, self.compared),
            breakdown=breakdown,
            spark={"metric": key, "currency": None},
        )

    def rate_card(self, key, label, polarity, caption, empty_caption):
        value = self.rates.get(key)
        return Card(
            key=key,
            label=label,
            headline=percent(value),
            value="" if value is None else str(value),
            caption=caption if value is not None else empty_caption,
            change=difference_change(
                value, self.prev_rates.get(key), polarity, self.compared, points=True
            ),
            spark={"metric": key, "currency": None},
        )

    def fraud_card(self):
        value = self.rates.get("fraud_rate_bps")
        flagged = self.counts.get("fraud_count", 0)
        if value is None:
            caption = (
                _("FX rate missing for %(currencies)s") % {"currencies": ", ".join(self.missing)}
                if self.missing
                else _("No volume in this period")
            )
        else:
            caption = _("%(count)s flagged · %(amount)s") % {
                "count": count(flagged),
                "amount": money(self.converted.get("fraud_amount", "0"), self.quote),
            }
        currency, _seen = self._basis("gmv")
        return Card(
            key="fraud_rate_bps",
            label=_("Fraud rate"),
            headline=bps(value),
            value="" if value is None else str(value),
            caption=caption,
            change=difference_change(
                value, self.prev_rates.get("fraud_rate_bps"), UP_BAD, self.compared, points=False
            ),
            spark={"metric": "fraud_rate_bps", "currency": currency or "*converted"},
        )

    def payouts_card(self):
        card = self.count_card(
            "payouts_count", _("Payouts"), NEUTRAL, "payouts_amount", _("%(amount)s paid out")
        )
        failed = self.counts.get("payouts_failed_count", 0)
        if failed:
            card.alert = _("%(count)s failed") % {"count": count(failed)}
        return card

    def transactions_card(self):
        value = self.counts.get("success_count", 0)
        return Card(
            key="success_count",
            label=_("Transactions"),
            headline=count(value),
            value=str(value),
            caption=_("completed (payments, transfers, cash)"),
            change=relative_change(
                value, self.prev_counts.get("success_count", 0), UP_GOOD, self.compared
            ),
            spark={"metric": "success_count", "currency": None},
        )

    def float_card(self):
        floats = self.data.get("float") or {}
        if not floats:
            return Card(
                key="float",
                label=_("Agent float"),
                headline="—",
                value="",
                caption=_("No agent has reported a balance"),
            )
        currency = self.quote if self.quote in floats else sorted(floats)[0]
        others = [c for c in sorted(floats) if c != currency]
        return Card(
            key="float",
            label=_("Agent float"),
            headline=amount(floats[currency], currency),
            value=floats[currency],
            currency=currency,
            caption=_("Latest balances, now"),
            breakdown=[(c, floats[c], money(floats[c], c)) for c in others],
        )

    def cards(self):
        counts = self.counts
        succeeded = _("%(ok)s succeeded · %(failed)s failed") % {
            "ok": count(counts.get("success_count", 0)),
            "failed": count(counts.get("failed_count", 0)),
        }
        attempts = _("of %(count)s payment attempts") % {"count": count(counts.get("attempts", 0))}
        out = [
            self.converted_card("gmv", _("Gross volume"), UP_GOOD),
            self.converted_card("revenue", _("Revenue"), UP_GOOD),
            self.amount_card("fees", _("Fees"), UP_GOOD),
            self.rate_card(
                "success_rate", _("Success rate"), UP_GOOD, succeeded, _("No completed payments")
            ),
            self.rate_card(
                "conversion_rate", _("Conversion"), UP_GOOD, attempts, _("No payment attempts")
            ),
            self.fraud_card(),
            self.count_card(
                "refunds_count", _("Refunds"), UP_BAD, "refunds_amount", _("%(amount)s refunded")
            ),
            self.count_card(
                "disputes_count", _("Disputes"), UP_BAD, "disputes_amount", _("%(amount)s disputed")
            ),
            self.payouts_card(),
        ]
        # Eight small cards under the two wide ones: the float where the scope has agents,
        # the completed transactions elsewhere.
        if self.scope.kind in FLOAT_SCOPES:
            out.append(self.float_card())
        else:
            out.append(self.transactions_card())
        return out


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
                ],  # fmt: skip
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
        "as_of": _parse_time(data.get("as_of")),
        "computed_at": _parse_time(data.get("computed_at")),
        "window_from": _parse_time(data.get("from")),
        "window_to": _parse_time(data.get("to")),
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
        "currency_columns": CURRENCY_COLUMNS,
        "currency_rows": currency_rows(data),
        "compared": COMPARED_WITH[period],
    }


def _parse_time(text):
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
    except PageError as exc:
        context.update(error=exc.message, errors=exc.errors, status=exc.status)
        if asked_period not in SnapshotPeriod.values:
            context["period"] = SnapshotPeriod.H24
        return render(request, "dashboard/overview.html", context, status=exc.status)
    data = snapshot(scope, period)
    context.update(live_context(request, scope, period, data))
    context["scope_label"] = scope_label(scope)
    return render(request, "dashboard/overview.html", context)


@login_required
@require_GET
def overview_cards(request):
    """The live part of the overview (htmx polls it): 204 while the snapshot is unchanged."""
    try:
        scope, period = parse_request(request)
    except PageError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    data = snapshot(scope, period)
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
            {"detail": exc.message, "code": "invalid", "errors": exc.errors}, status=exc.status
        )
    raw = overview_body(scope, period)
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


# ------------------------------------------------------------------ sparkline series


def sparkline_series(scope, period, data, cards):
    """{"t": [bucket starts], "series": {card key: [values]}, "meta": {card key: {...}}}.

    Reads the time-series selectors over the snapshot's window (hourly for today and
    24h, daily for 7d and 30d). A card shown in the reporting currency gets each
    currency's series converted at its day's rate, summed per bucket (the snapshot's
    rule), so its trend matches its headline.
    """
    hourly = period in HOURLY_PERIODS
    granularity = Granularity.HOUR if hourly else Granularity.DAY
    frm = _parse_time(data["from"])
    if not hourly:
        frm = floor_day(frm)
    params = {"from": frm.isoformat(), "to": data["to"], "granularity": granularity}
    quote = (data.get("converted") or {}).get("currency") or "XOF"
    currencies = sorted(data.get("amounts") or {})
    cache_points = {}

    def points(metric, currency):
        if (metric, currency) not in cache_points:
            q = parse_series_query(
                metric=metric, scope=scope, params={**params, "currency": currency or ""}
            )
            cache_points[(metric, currency)] = series_points(q)
        return cache_points[(metric, currency)]

    book = None

    def converted(metric):
        nonlocal book
        if book is None:
            until = _parse_time(data["to"]).date()
            book = RateBook.load(currencies, until=until, quote=quote)
        totals = None
        for c in currencies:
            pts = points(metric, c)
            if totals is None:
                totals = [Decimal(0)] * len(pts)
            for i, (t, v) in enumerate(pts):
                value = book.convert(c, _parse_time(t).date(), Decimal(v))
                if value is not None:
                    totals[i] += value
        return totals

    times = None
    series, meta = {}, {}
    for card in cards:
        spec = card.spark
        if not spec:
            continue
        metric, currency = spec["metric"], spec["currency"]
        if currency == "*converted" and not currencies:
            currency = quote
        if currency == "*converted" and metric == "fraud_rate_bps":
            fraud, gmv = converted("fraud_amount"), converted("gmv")
            values = [
                round(float(10000 * f / g), 2) if g else None
                for f, g in zip(fraud, gmv, strict=True)
            ]
            kind, shown = "bps", quote
        elif currency == "*converted":
            values = [_money_text(v) for v in converted(metric)]
            kind, shown = "money", quote
        else:
            pts = points(metric, currency)
            times = times or [t for t, _v in pts]
            values = [v for _t, v in pts]
            kind = METRICS[metric].kind
            shown = currency
        series[card.key] = values
        meta[card.key] = {"metric": metric, "kind": kind, "currency": shown}
    if times is None:
        times = [t for t, _v in points("attempts", None)]
    return {
        "scope": str(scope),
        "period": period,
        "granularity": granularity,
        "computed_at": data.get("computed_at"),
        "t": times,
        "series": series,
        "meta": meta,
    }


def _money_text(value):
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text
