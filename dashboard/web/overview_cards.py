"""The overview's KPI cards: which snapshot figure each card shows, its change against the
previous period (with what a rise means for that figure), and per-currency lines.

A money figure is shown in its only currency, or as the snapshot's reporting-currency
conversion when several currencies moved (the snapshot converts gross volume, revenue
and fraud; fees are shown per currency). Nothing is recomputed: only chosen and formatted.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import ScopeKind
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.templatetags.money import amount, bps, count, money, percent, to_decimal

COMPARED_WITH = {
    SnapshotPeriod.TODAY: gettext_lazy("compared with yesterday, same hours"),
    SnapshotPeriod.H24: gettext_lazy("compared with the previous 24 hours"),
    SnapshotPeriod.D7: gettext_lazy("compared with the previous 7 days"),
    SnapshotPeriod.D30: gettext_lazy("compared with the previous 30 days"),
}
# Scopes whose agents have a float: merchants and banks have none (agent_float_totals).
FLOAT_SCOPES = {ScopeKind.PLATFORM, ScopeKind.REGION, ScopeKind.AGENT}
# What a rise of a figure means: good (volume), bad (refunds, fraud) or neither (payouts).
UP_GOOD, UP_BAD, NEUTRAL = 1, -1, 0
# A sparkline in the reporting currency, converted like the snapshot's headline.
CONVERTED = "*converted"


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
    spark: dict | None = None  # {"metric", "currency" (None, a code or CONVERTED)}
    alert: str = ""
    featured: bool = False  # a wide card with a taller chart (gross volume, revenue)

    @property
    def breakdown_split(self):
        """(currencies listed, currencies behind "more"): six fit on a wide card, three else."""
        head = 6 if self.featured else 3
        return self.breakdown[:head], self.breakdown[head:]


def _spoken(direction, change, compared):
    """The change as a sentence for screen readers ("Up 12.0% compared with ...")."""
    texts = {
        "up": _("Up %(change)s %(compared)s"),
        "down": _("Down %(change)s %(compared)s"),
        "flat": _("Unchanged %(compared)s"),
    }
    return texts[direction] % {"change": change, "compared": compared}


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
    return Change(
        direction,
        f"{_arrow(direction)} {text}".strip(),
        _tone(direction, polarity),
        _spoken(direction, text, compared),
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
    return Change(
        direction,
        f"{_arrow(direction)} {text}".strip(),
        _tone(direction, polarity),
        _spoken(direction, text, compared),
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
            spark_currency = CONVERTED
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
            spark={"metric": "fraud_rate_bps", "currency": currency or CONVERTED},
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
        """Two wide cards (gross volume, revenue), then eight small ones. An agent's scope has
        no payments of its own (no attempts, refunds or disputes): its cash-in and cash-out
        take their places."""
        counts = self.counts
        succeeded = _("%(ok)s succeeded · %(failed)s failed") % {
            "ok": count(counts.get("success_count", 0)),
            "failed": count(counts.get("failed_count", 0)),
        }
        attempts = _("of %(count)s payment attempts") % {"count": count(counts.get("attempts", 0))}
        success = self.rate_card(
            "success_rate", _("Success rate"), UP_GOOD, succeeded, _("No completed payments")
        )
        wide = [
            self.converted_card("gmv", _("Gross volume"), UP_GOOD),
            self.converted_card("revenue", _("Revenue"), UP_GOOD),
        ]
        if self.scope.kind == ScopeKind.AGENT:
            return wide + [
                self.amount_card("cash_in_amount", _("Cash-in"), UP_GOOD),
                self.amount_card("cash_out_amount", _("Cash-out"), NEUTRAL),
                self.transactions_card(),
                success,
                self.amount_card("fees", _("Fees"), UP_GOOD),
                self.fraud_card(),
                self.payouts_card(),
                self.float_card(),
            ]
        return wide + [
            self.amount_card("fees", _("Fees"), UP_GOOD),
            success,
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
            # The float where the scope has agents, the completed transactions elsewhere.
            self.float_card() if self.scope.kind in FLOAT_SCOPES else self.transactions_card(),
        ]
