"""Monthly range partitions of the time-partitioned tables (plain SQL, no ORM support)."""

from datetime import UTC, date, datetime, timedelta

PARTITIONED_TABLES = ("dashboard_hourly_aggregate",)


def month_start(d):
    return date(d.year, d.month, 1)


def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def partition_name(table, month):
    return f"{table}_p{month:%Y%m}"


def _range_partition_sql(table, name, start, end):
    """DDL for one range partition [start, end) of `table`; idempotent."""
    return (
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def create_month_partition_sql(table, month):
    """DDL for one month's partition; idempotent."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    return _range_partition_sql(table, partition_name(table, month), start, end)


def create_month_partition(cursor, table, month):
    """At run time: one month's partition through the owner's narrow function (the
    application role owns no table: docs/database-roles.md). True if created."""
    cursor.execute("SELECT public.molam_month_partition_create(%s, %s)", [table, month])
    return cursor.fetchone()[0]


def months_between(first, last):
    month = month_start(first)
    while month <= last:
        yield month
        month = add_months(month, 1)


# ---------------------------------------------------------------- seen event ids (daily)
# dashboard_seen_event is range-partitioned by day on occurred_day (the event's
# own UTC day, see docs/ingestion.md for why that and not the arrival day).
SEEN_TABLE = "dashboard_seen_event"
SEEN_DEFAULT = f"{SEEN_TABLE}_default"


def seen_partition_name(day):
    return f"{SEEN_TABLE}_p{day:%Y%m%d}"


def create_seen_partition_sql(day):
    """DDL for one day's partition of the seen-id store (bounds: dates); idempotent."""
    return _range_partition_sql(SEEN_TABLE, seen_partition_name(day), day, day + timedelta(days=1))


def create_seen_partition(cursor, day):
    """At run time: one day's seen-id partition through the owner's narrow function."""
    cursor.execute("SELECT public.molam_seen_partition_create(%s)", [day])
    return cursor.fetchone()[0]


def list_partitions(cursor, table):
    """Names of the partitions of `table` (default partition included)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def seen_partition_day(name):
    """dashboard_seen_event_p20261127 -> date(2026, 11, 27); None for other names."""
    return _partition_day(name, SEEN_TABLE)


def _partition_day(name, table):
    """The day of a daily partition's name (`<table>_pYYYYMMDD`); None for other names."""
    prefix = f"{table}_p"
    if not name.startswith(prefix):
        return None
    try:
        return datetime.strptime(name[len(prefix) :], "%Y%m%d").date()
    except ValueError:
        return None


# ---------------------------------------------------------------- transactions (daily)
# dashboard_transaction: every counted event, range-partitioned by day on
# occurred_at (dashboard/transactions/, docs/transactions.md). A DEFAULT
# partition takes any event whose day has no partition yet, so ingestion never
# fails for lack of one.
TX_TABLE = "dashboard_transaction"
TX_DEFAULT = f"{TX_TABLE}_default"


def tx_partition_name(day):
    return f"{TX_TABLE}_p{day:%Y%m%d}"


def create_tx_partition_sql(day):
    """DDL for one day's transactions partition (bounds: UTC instants; migrations, as the
    owner); idempotent."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _range_partition_sql(TX_TABLE, tx_partition_name(day), start, start + timedelta(days=1))


def create_tx_partition(cursor, day):
    """At run time: one day's transactions partition through the owner's narrow function."""
    cursor.execute("SELECT public.molam_tx_partition_create(%s)", [day])
    return cursor.fetchone()[0]


def drop_tx_partition(cursor, day):
    """At run time: detach and drop one day's transactions partition (owner's function)."""
    cursor.execute("SELECT public.molam_tx_partition_drop(%s)", [day])
    return cursor.fetchone()[0]


def tx_partition_day(name):
    """dashboard_transaction_p20261127 -> date(2026, 11, 27); None for other names."""
    return _partition_day(name, TX_TABLE)
