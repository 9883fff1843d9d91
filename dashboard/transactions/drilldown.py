"""Drill-down: which stored events make a figure, and which of their fields it sums.

A pure function of the figure, derived from the counting rules themselves
(dashboard/ingest/validation.py RULES, the contract's events.md table), so the
list behind a figure cannot drift from what ingestion counts:

- a count figure (attempts, success_count, ...) is the number of events of its types;
- a money figure is the sum per currency of one expression over its types:
  `amount` (gmv, refunds_amount, ...), `fee` (fees) or `fee - cost` (revenue),
  a missing fee or cost counting as 0 exactly as ingestion does;
- a ratio (conversion_rate, success_rate, fraud_rate_bps) is two such parts.

Clients (and the pages' JS) build the link of a figure as
`/transactions?figure=<figure>&scope=<scope>&from=<bucket or period start>&to=<end>`
plus the cuts of the series (currency, source, country, region, city).
"""

from dataclasses import dataclass

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.ingest.validation import RULES

AMOUNT = "amount"
FEE = "coalesce(fee, 0)"
REVENUE = "coalesce(fee, 0) - coalesce(cost, 0)"


@dataclass(frozen=True)
class Part:
    """Events of `types`, counted (expr None) or summed per currency (expr: SQL)."""

    types: tuple
    expr: str | None = None
    source: str | None = None  # a part restricted to one source (conversion's numerator)


def _build():
    counts = {name: [] for name in COUNT_FIGURES}
    money = {name: [] for name in MONEY_FIGURES}
    for etype, (count, amount, fee, _sources) in RULES.items():
        if count:
            counts[count].append(str(etype))
        if amount:
            money[amount].append(str(etype))
        if fee:
            money["fees"].append(str(etype))
            money["revenue"].append(str(etype))
    parts = {name: (Part(tuple(types)),) for name, types in counts.items()}
    for name, types in money.items():
        expr = {"fees": FEE, "revenue": REVENUE}.get(name, AMOUNT)
        parts[name] = (Part(tuple(types), expr),)
    # An agent's sales (the time series' `sales` metric).
    parts["sales"] = (
        Part(tuple(money["cash_in_amount"]) + tuple(money["cash_out_amount"]), AMOUNT),
    )
    # Ratios: (numerator, denominator), as dashboard/snapshots/timeseries.py computes them.
    parts["conversion_rate"] = (
        Part(parts["success_count"][0].types, source="connect"),
        parts["attempts"][0],
    )
    parts["success_rate"] = (
        parts["success_count"][0],
        Part(parts["success_count"][0].types + parts["failed_count"][0].types),
    )
    parts["fraud_rate_bps"] = (parts["fraud_amount"][0], parts["gmv"][0])
    return parts


FIGURES = _build()
RATIOS = ("conversion_rate", "success_rate", "fraud_rate_bps")


def figure_types(figure):
    """Every event type a figure reads (the list a drill-down shows)."""
    seen = []
    for part in FIGURES[figure]:
        seen.extend(t for t in part.types if t not in seen)
    return tuple(seen)
