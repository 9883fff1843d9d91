"""Raw SQL of the transactions table (dashboard_transaction, partitioned by UTC day).

Why raw SQL: the write runs in every ingestion batch (one COPY of the batch's
counted events into the partitioned parent: PostgreSQL routes each row to its
day), and the table is partitioned, which the ORM does not model. Reads are
keyset pages and sums over the same table, kept here beside the write so the
columns are named once.

All functions take a psycopg cursor of the caller's transaction.
"""

from datetime import UTC, datetime, timedelta

from django.db import transaction

from dashboard.partitions import (
    TX_DEFAULT,
    TX_TABLE,
    create_tx_partition,
    drop_tx_partition,
    list_partitions,
    tx_partition_day,
    tx_partition_name,
)

# Stored columns, in COPY order (ingested_at takes its default).
COLUMNS = (
    "event_id",
    "type",
    "source",
    "occurred_at",
    "currency",
    "amount",
    "fee",
    "cost",
    "balance",
    "merchant_id",
    "agent_id",
    "bank_id",
    "country",
    "region",
    "city",
)
_COPY = f"COPY {TX_TABLE} ({', '.join(COLUMNS)}) FROM STDIN"


def transactions_copy(cursor, events):
    """The batch's counted events (validated Event structs) into the table: one COPY,
    in the batch's transaction (so a rolled-back batch keeps none of them)."""
    if not events:
        return
    with cursor.copy(_COPY) as copy:
        write = copy.write_row
        for e in events:
            write(
                (e.event_id, e.type, e.source, e.occurred_at, e.currency, e.amount, e.fee,
                 e.cost, e.balance, e.merchant_id, e.agent_id, e.bank_id, e.country,
                 e.region, e.city)
            )  # fmt: skip


# ---------------------------------------------------------------- partitions

# Days whose partition is known to exist, per database (this process's cache).
_days_ready = {}


def window_start(retention_days, today=None):
    """First day kept (and so given a partition of its own)."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=retention_days)


def partitions_ensure(cursor, days, *, retention_days, today=None):
    """Daily partitions for `days` inside the retention window, created on demand in
    the caller's transaction (each in a savepoint). A day whose rows already sit in
    the default partition (created too late), or outside the window, keeps using the
    default partition. Returns the days handled."""
    from django.db import connection

    ready = _days_ready.setdefault(connection.settings_dict["NAME"], set())
    start = window_start(retention_days, today)
    missing = sorted(d for d in days if d >= start and d not in ready)
    done = set()
    for day in missing:
        cursor.execute("SAVEPOINT tx_partition")
        try:
            create_tx_partition(cursor, day)
        except Exception:  # the default partition holds rows of that day, or a race
            cursor.execute("ROLLBACK TO SAVEPOINT tx_partition")
        else:
            cursor.execute("RELEASE SAVEPOINT tx_partition")
        done.add(day)
    if done:
        # Known only once committed: a rolled-back CREATE must be tried again.
        transaction.on_commit(lambda: ready.update(done))
    return done


def partitions_forget_cache():
    """Forget the days known to have a partition (tests that drop partitions)."""
    _days_ready.clear()


def partitions_expire(cursor, retention_days, today=None):
    """Drop whole day partitions older than the window; delete the default partition's
    rows older than it (the default partition itself is never dropped). Returns
    (dropped partition names, rows deleted from the default partition)."""
    start = window_start(retention_days, today)
    dropped = []
    for name in list_partitions(cursor, TX_TABLE):
        day = tx_partition_day(name)
        if day is None or day >= start or tx_partition_name(day) != name:
            continue
        drop_tx_partition(cursor, day)
        dropped.append(name)
    cutoff = datetime(start.year, start.month, start.day, tzinfo=UTC)
    cursor.execute(f"DELETE FROM {TX_DEFAULT} WHERE occurred_at < %s", [cutoff])
    return dropped, cursor.rowcount


def partitions_ahead(cursor, days_ahead, today=None):
    """Create the partitions of today and the next `days_ahead` days; returns names created."""
    today = today or datetime.now(UTC).date()
    created = []
    for n in range(days_ahead + 1):
        day = today + timedelta(days=n)
        cursor.execute("SAVEPOINT tx_partition")
        try:
            made = create_tx_partition(cursor, day)
        except Exception:  # the default partition already holds rows of that day
            cursor.execute("ROLLBACK TO SAVEPOINT tx_partition")
            continue
        cursor.execute("RELEASE SAVEPOINT tx_partition")
        if made:
            created.append(tx_partition_name(day))
    return created
