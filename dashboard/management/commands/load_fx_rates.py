"""Load FX rates into the reporting currency from a CSV file or the command line."""

from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from dashboard.snapshots.fx import fx_rates_load, read_rates_csv, reporting_currency


class Command(BaseCommand):
    help = (
        "Load FX rates (all or none). CSV header: currency,quote_currency,rate_date,rate "
        "(quote_currency optional: the reporting currency). "
        "Or: --rate EUR=655.957 --date 2026-11-27."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", nargs="?", help="CSV file path, '-' for stdin")
        parser.add_argument("--rate", action="append", default=[], metavar="CUR=RATE")
        parser.add_argument("--date", help="rate date for --rate (default: today UTC)")
        parser.add_argument("--quote", help="quote currency for --rate (default: reporting)")
        parser.add_argument("--source", default="command")

    def handle(self, *args, **opts):
        rows = []
        if opts["csv"]:
            import sys

            handle = sys.stdin if opts["csv"] == "-" else open(opts["csv"], newline="")  # noqa: SIM115
            with handle:
                try:
                    rows.extend(read_rates_csv(handle))
                except DomainError as exc:
                    raise CommandError(exc.detail) from None
        day = opts["date"] or datetime.now(UTC).date().isoformat()
        quote = opts["quote"] or reporting_currency()
        for item in opts["rate"]:
            currency, sep, rate = item.partition("=")
            if not sep:
                raise CommandError(f"--rate {item!r}: use CUR=RATE")
            rows.append((currency, quote, day, rate))
        if not rows:
            raise CommandError("nothing to load: give a CSV file or --rate CUR=RATE")
        try:
            n = fx_rates_load(rows=rows, source=opts["source"])
        except DomainError as exc:
            errors = "; ".join(m for msgs in (exc.errors or {}).values() for m in msgs)
            raise CommandError(f"{exc.detail} {errors}") from None
        self.stdout.write(f"{n} FX rates loaded (as of {date.today().isoformat()})")
