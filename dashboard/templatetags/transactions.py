"""Drill-down links of the overview page: a figure's (or a top-list row's) transactions."""

from django import template

from dashboard.snapshots.compute import iso
from dashboard.transactions.drilldown import FIGURES
from dashboard.transactions.web import drill_url

register = template.Library()


@register.simple_tag
def figure_transactions_url(figure, scope, frm, to):
    """The transactions behind a KPI card's figure over the period; "" for a figure that is
    not a sum of events (the float gauge)."""
    if figure not in FIGURES or not (scope and frm and to):
        return ""
    return drill_url(figure, scope, iso(frm), iso(to))


@register.simple_tag
def top_transactions_url(kind, ident, scope, frm, to):
    """The GMV events of one top-list row (a country or a merchant) within the shown scope."""
    if not (scope and frm and to):
        return ""
    cut = {"country": ident} if kind == "country" else {"merchant_id": ident}
    return drill_url("gmv", scope, iso(frm), iso(to), **cut)
