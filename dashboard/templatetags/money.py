"""Localized figures for templates: amounts per currency, counts, percentages, basis points.

Amounts arrive as the API's exact decimal strings; they are rounded only for display
(half up, like Intl.NumberFormat in the browser) to the currency's usual digits:
none for the CFA francs and the Guinean franc, two otherwise.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()

# Currencies whose minor unit is not used in practice (same list as static/js/app.js).
NO_DECIMALS = frozenset({"XOF", "XAF", "GNF", "JPY", "KRW", "RWF", "UGX", "BIF", "DJF", "KMF"})
DASH = "—"


def to_decimal(value):
    """`value` as a Decimal, None for None, "" or text that is not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def currency_digits(currency):
    return 0 if currency in NO_DECIMALS else 2


def grouped(value, digits):
    """`value` rounded half up to `digits` places, with the language's separators."""
    number = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return number_format(number, digits, use_l10n=True, force_grouping=True)


@register.filter
def amount(value, currency):
    """The bare number of an amount in `currency` ("75,793,775" for XOF)."""
    number = to_decimal(value)
    if number is None:
        return DASH
    return grouped(number, currency_digits(currency))


@register.filter
def money(value, currency):
    """An amount with its currency code, in the language's order ("XOF 75,793,775")."""
    number = to_decimal(value)
    if number is None:
        return DASH
    # Translators: how an amount is written with its ISO currency code.
    return _("%(currency)s %(amount)s") % {
        "currency": currency,
        "amount": grouped(number, currency_digits(currency)),
    }


@register.filter
def count(value):
    """An integer with thousands separators."""
    number = to_decimal(value)
    if number is None:
        return DASH
    return grouped(number, 0)


@register.filter
def percent(value, digits=1):
    """A ratio (0.9044) as a percentage ("90.4%")."""
    number = to_decimal(value)
    if number is None:
        return DASH
    # Translators: a percentage; French writes a space before the sign.
    return _("%(value)s%%") % {"value": grouped(number * 100, int(digits))}


@register.filter
def bps(value):
    """Basis points ("87.75 bps")."""
    number = to_decimal(value)
    if number is None:
        return DASH
    return _("%(value)s bps") % {"value": grouped(number, 2)}
