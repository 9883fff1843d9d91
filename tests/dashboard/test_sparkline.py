"""The overview sparkline converts each currency's hourly GMV once, whatever the sources."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.snapshots.compute import sparkline
from dashboard.snapshots.fx import RateBook


def _row(hour, currency, source, gmv):
    figures = [0] * len(COUNT_FIGURES) + [Decimal(0)] * len(MONEY_FIGURES)
    figures[len(COUNT_FIGURES) + MONEY_FIGURES.index("gmv")] = Decimal(gmv)
    return (hour, currency, source, *figures, hour)


def test_wallet_and_connect_gmv_of_one_hour_are_converted_together():
    hour = datetime(2026, 11, 26, 23, tzinfo=UTC)
    # 0.00005 XOF each when converted apart rounds to 0.0001 twice (0.0002);
    # together 0.0001 XOF: one rounding, as an independent computation does.
    book = RateBook("XOF", [("GHS", date(2026, 11, 1), Decimal("0.5"))])
    rows = [_row(hour, "GHS", "wallet", "0.0001"), _row(hour, "GHS", "connect", "0.0001")]
    points = sparkline(rows, hour, hour + timedelta(hours=1), book)["points"]
    assert points == [{"t": "2026-11-26T23:00:00Z", "value": "0.0001"}]
