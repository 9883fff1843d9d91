"""FX rates: conversion of per-currency amounts into the reporting currency."""

import bisect
import csv
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction

from common.errors import ValidationFailed
from dashboard.models import FxRate

log = logging.getLogger(__name__)
FOUR_PLACES = Decimal("0.0001")


def reporting_currency():
    return settings.REPORTING_CURRENCY


class RateBook:
    """Rates into one quote currency, looked up as "the latest rate on or before a day"."""

    def __init__(self, quote, rates):
        self.quote = quote
        self._dates = defaultdict(list)
        self._rates = defaultdict(list)
        for currency, rate_date, rate in sorted(rates):
            self._dates[currency].append(rate_date)
            self._rates[currency].append(rate)

    @classmethod
    def load(cls, currencies, *, until, quote=None):
        """Every rate of `currencies` into `quote` dated on or before `until`."""
        quote = quote or reporting_currency()
        wanted = {c for c in currencies if c and c != quote}
        rows = FxRate.objects.filter(
            currency__in=wanted, quote_currency=quote, rate_date__lte=until
        ).values_list("currency", "rate_date", "rate")
        return cls(quote, rows)

    def rate(self, currency, day):
        """Decimal rate for `currency` on `day` (a date), or None when there is none yet."""
        if currency == self.quote:
            return Decimal(1)
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect.bisect_right(dates, day)
        return self._rates[currency][i - 1] if i else None

    def convert(self, currency, day, amount):
        """`amount` in the quote currency (4 decimals), or None when the rate is missing."""
        rate = self.rate(currency, day)
        if rate is None:
            return None
        return self.apply(rate, amount)

    @staticmethod
    def apply(rate, amount):
        # Half away from zero, like PostgreSQL's round() used by the top lists.
        return (amount * rate).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _parse_rate(currency, quote, rate_date, rate, *, line=None):
    where = f"line {line}: " if line else ""
    errors = {}
    currency = (currency or "").strip().upper()
    quote = (quote or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = [f"{where}currency must be an ISO 4217 code, got {currency!r}"]
    if len(quote) != 3 or not quote.isalpha():
        errors["quote_currency"] = [f"{where}quote currency must be ISO 4217, got {quote!r}"]
    if isinstance(rate_date, str):
        try:
            rate_date = date.fromisoformat(rate_date.strip())
        except ValueError:
            errors["rate_date"] = [f"{where}date must be YYYY-MM-DD, got {rate_date!r}"]
    try:
        rate = Decimal(str(rate).strip())
        if not rate.is_finite() or rate <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["rate"] = [f"{where}rate must be a positive decimal, got {rate!r}"]
    if errors:
        raise ValidationFailed("Invalid FX rate.", errors=errors, code="invalid_fx_rate")
    return currency, quote, rate_date, rate


def fx_rates_load(*, rows, source=""):
    """Insert or update FX rates from (currency, quote_currency, rate_date, rate) rows, all or none.

    Returns the number of rates written. Bad rows raise ValidationFailed naming
    the line; nothing is written then. In the same transaction, every scope
    whose converted figures use a changed rate is marked for refresh (see
    `_rates_changed`): its overview says `stale: true` from the commit until
    its snapshots are recomputed. A full snapshot refresh is also queued.
    """
    parsed = [_parse_rate(*row, line=i) for i, row in enumerate(rows, start=1)]
    with transaction.atomic():
        changed = set()
        for currency, quote, rate_date, rate in parsed:
            key = {"currency": currency, "quote_currency": quote, "rate_date": rate_date}
            before = FxRate.objects.select_for_update().filter(**key).values_list("rate").first()
            FxRate.objects.update_or_create(**key, defaults={"rate": rate, "source": source})
            if before is None or before[0] != rate:
                changed.add((currency, quote, rate_date))
        _rates_changed(changed)
    return len(parsed)


def fx_rates_delete(*, rate_ids):
    """Delete FX rates (a superuser's correction in the admin), marking what they changed
    like `fx_rates_load`. Returns the number deleted."""
    with transaction.atomic():
        doomed = set(
            FxRate.objects.select_for_update()
            .filter(id__in=rate_ids)
            .values_list("currency", "quote_currency", "rate_date")
        )
        FxRate.objects.filter(id__in=rate_ids).delete()
        _rates_changed(doomed)
    return len(doomed)


def affected_days(changed, *, today=None):
    """{currency: [(first day, end day or None)]}: the days whose rate in force changed.

    A rate dated D applies from D until the next rate of the pair, so a change
    at D moves the days [D, next date) (open-ended without a later rate), as
    of the rates after the change. Only rates into the reporting currency
    convert anything; days older than any snapshot's look-back are left out,
    and so are rates dated after today (a snapshot computed then uses them).
    """
    from dashboard.snapshots.periods import MAX_LOOKBACK

    quote = reporting_currency()
    today = today or datetime.now(UTC).date()
    oldest = today - MAX_LOOKBACK - timedelta(days=2)
    out = defaultdict(list)
    for currency, q, rate_date in sorted(changed):
        if q != quote or currency == quote or rate_date > today:
            continue
        later = (
            FxRate.objects.filter(currency=currency, quote_currency=q, rate_date__gt=rate_date)
            .order_by("rate_date")
            .values_list("rate_date", flat=True)
            .first()
        )
        lo = max(rate_date, oldest)
        if later is not None and later <= lo:
            continue  # superseded before any day a snapshot reads
        out[currency].append((lo, later))
    return dict(out)


def _rates_changed(changed):
    """Mark (same transaction) the scopes whose converted figures use `changed` rates.

    Targeting: a scope with a snapshot is marked when its daily rollup has an
    amount in a changed currency on an affected day, or when it has a pending
    hour range (its rollup may lag there, and it is recomputed anyway). After
    the commit: the scopes' stale marks in Redis, then a full refresh is queued.
    """
    from dashboard.snapshots import sql

    days = affected_days(changed)
    if not days:
        return
    ranges = [(c, lo, hi) for c, spans in days.items() for lo, hi in spans]
    with connection.cursor() as cur:
        scopes, changed_at = sql.fx_changes_mark(cur, ranges)
    transaction.on_commit(lambda: _after_rates_commit(scopes, changed_at))


def _after_rates_commit(scopes, changed_at):
    from accounts.scope import Scope
    from dashboard.snapshots import cache

    if scopes:
        try:
            cache.mark_stale([str(Scope(kind, ident)) for kind, ident in scopes], changed_at)
        except Exception:  # Redis down: the overview then reads the table and the marks
            log.warning("could not record stale marks after new FX rates", exc_info=True)
    _queue_full_refresh()


def _queue_full_refresh():
    from dashboard.tasks import refresh_all_snapshots

    try:
        refresh_all_snapshots.delay()
    except Exception:  # the broker down: beat's periodic full refresh still comes
        log.warning("could not queue a snapshot refresh after new FX rates", exc_info=True)


def read_rates_csv(handle):
    """Rows of a CSV with header currency,quote_currency,rate_date,rate."""
    reader = csv.DictReader(handle)
    missing = {"currency", "rate_date", "rate"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed(
            f"CSV header lacks {', '.join(sorted(missing))}", code="invalid_fx_rate"
        )
    return [
        (r["currency"], r.get("quote_currency") or reporting_currency(), r["rate_date"], r["rate"])
        for r in reader
    ]


# Demo rates into XOF (BCEAO: EUR is pegged at 655.957 XOF).
DEMO_RATES_XOF = {
    "EUR": "655.957",
    "USD": "605.50",
    "GHS": "39.80",
    "NGN": "0.3950",
    "XAF": "1",
    "GNF": "0.0700",
}


def fx_rates_seed_demo(*, day):
    """Load the demo rates (into XOF) dated `day`; used by `seed_demo`."""
    rows = [(c, "XOF", day, r) for c, r in DEMO_RATES_XOF.items()]
    return fx_rates_load(rows=rows, source="demo")
