"""Monthly range partitions of the time-partitioned tables (plain SQL, no ORM support)."""

from datetime import UTC, date, datetime

PARTITIONED_TABLES = ("dashboard_hourly_aggregate",)


def month_start(d):
    return date(d.year, d.month, 1)


def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def partition_name(table, month):
    return f"{table}_p{month:%Y%m}"


def create_month_partition_sql(table, month):
    """DDL for one month's partition; idempotent."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def months_between(first, last):
    month = month_start(first)
    while month <= last:
        yield month
        month = add_months(month, 1)
