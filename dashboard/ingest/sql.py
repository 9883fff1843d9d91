"""Raw SQL of the ingestion hot path.

Why raw SQL: one batch is thousands of events; the ORM would issue a statement
per row (or a bulk statement without ON CONFLICT ... DO UPDATE arithmetic on a
partitioned table). Here every step is one set-based statement per batch:
INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT, the arrays sent as binary
parameters (server-side binding, one round trip), or for the per-event seen ids
COPY into a session-temporary stage and INSERT ... SELECT from it.
Rows are always written in primary-key order so that two consumers updating the
same hot rows (the platform scope of the current hour) take their row locks in
the same order and wait for each other instead of deadlocking.

All functions take a psycopg cursor of the caller's transaction.
"""

import weakref
from datetime import UTC, datetime, timedelta

from django.db import transaction

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES
from dashboard.partitions import (
    SEEN_DEFAULT,
    SEEN_TABLE,
    create_seen_partition,
    list_partitions,
    seen_partition_day,
    seen_partition_name,
)

AGG_TABLE = "dashboard_hourly_aggregate"
DIRTY_TABLE = "dashboard_dirty_change"
KEY_COLUMNS = (
    "scope_kind",
    "scope_id",
    "bucket",
    "country",
    "region",
    "city",
    "currency",
    "source",
)
FIGURE_COLUMNS = COUNT_FIGURES + MONEY_FIGURES
# last_event_at: the newest occurred_at of the events counted in the row (the
# snapshots' as_of); GREATEST ignores the NULL of rows written before it existed.
AGG_COLUMNS = KEY_COLUMNS + FIGURE_COLUMNS + ("last_event_at",)

_AGG_TYPES = (
    ("varchar", "varchar", "timestamptz", "varchar", "varchar", "varchar", "varchar", "varchar")
    + ("bigint",) * len(COUNT_FIGURES)
    + ("numeric",) * len(MONEY_FIGURES)
    + ("timestamptz",)
)
# The batch's rows arrive by COPY into a session-temporary stage (psycopg's row
# writer is C; binding 27 arrays costs several times more Python per row) and
# are merged by one INSERT ... SELECT ... ON CONFLICT, in key order.
_AGG_STAGE_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS ingest_agg_stage (LIKE {AGG_TABLE} INCLUDING DEFAULTS)"
)
_agg_staged = weakref.WeakSet()  # psycopg connections whose session has the stage
_AGG_STAGE_COPY = f"COPY ingest_agg_stage ({', '.join(AGG_COLUMNS)}) FROM STDIN"
_AGG_UPSERT = (
    f"INSERT INTO {AGG_TABLE} ({', '.join(AGG_COLUMNS)}) "
    f"SELECT {', '.join(AGG_COLUMNS)} FROM ingest_agg_stage ORDER BY {', '.join(KEY_COLUMNS)} "
    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = {AGG_TABLE}.{c} + EXCLUDED.{c}" for c in FIGURE_COLUMNS)
    + f", last_event_at = GREATEST({AGG_TABLE}.last_event_at, EXCLUDED.last_event_at)"
)
# GMV per merchant inside each bank scope (the bank snapshots' top merchants):
# the aggregates have no merchant dimension within a bank. One row per (bank,
# hour, merchant, currency), only for GMV events naming both a bank and a merchant.
BANK_MERCHANT_TABLE = "dashboard_bank_merchant_hourly"
_BANK_MERCHANT_UPSERT = (
    f"INSERT INTO {BANK_MERCHANT_TABLE} (bank_id, bucket, merchant_id, currency, gmv) "
    "SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::varchar[], %s::varchar[], "
    "%s::numeric[]) AS t(bank_id, bucket, merchant_id, currency, gmv) "
    "ORDER BY bank_id, bucket, merchant_id, currency "
    "ON CONFLICT (bank_id, bucket, merchant_id, currency) DO UPDATE SET "
    f"gmv = {BANK_MERCHANT_TABLE}.gmv + EXCLUDED.gmv"
)
# Dedupe in one statement. The primary key (event_id, occurred_day) is unique
# per partition, and a given event always routes to the same partition (its
# own UTC day), so a concurrent second delivery waits on the first's index
# entry and then conflicts: RETURNING gives exactly the ids never seen before.
# The ids arrive by COPY into a session-temporary stage (measured ~20 % faster
# than one unnest() of a binary array for this one, which is per event). This
# is the fallback of `seen_copy` (used when some id was seen before), in the
# same (day, id) order so the two paths never lock ids in opposite orders.
_SEEN_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS ingest_seen_stage "
    '(event_id varchar(64) COLLATE "C", occurred_day date)'
)
_SEEN_INSERT = (
    f"INSERT INTO {SEEN_TABLE} (event_id, occurred_day) "
    "SELECT event_id, occurred_day FROM ingest_seen_stage ORDER BY occurred_day, event_id "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
# Dirty marks are an append-only change log: one plain INSERT per batch, no
# unique key and no ON CONFLICT, so nothing a snapshot refresh holds (it
# deletes the rows it claimed, in a transaction that may wait on a rollup
# rebuild) can make a batch wait. See docs/snapshots.md.
_DIRTY_INSERT = (
    f"INSERT INTO {DIRTY_TABLE} (scope_kind, scope_id, min_bucket, max_bucket, reason, marked_at) "
    "SELECT k, i, mn, mx, 'events', now() FROM unnest(%s::varchar[], %s::varchar[], "
    "%s::timestamptz[], %s::timestamptz[]) AS t(k, i, mn, mx)"
)


def seen_copy(cursor, ids, days):
    """Fast path of the dedupe: COPY the (in-batch unique) ids straight into the
    store. True when all were new (the common case: nothing to subtract); False,
    with nothing of it kept, when any was already there (its unique violation
    is rolled back to a savepoint and the caller takes `seen_insert`).

    Ids go in one global order, (day, id), like `seen_insert`'s, so two writers
    meeting on a duplicate wait for each other instead of deadlocking."""
    import psycopg

    text = _seen_copy_text(ids, days)
    cursor.execute("SAVEPOINT seen_copy")
    try:
        with cursor.copy(f"COPY {SEEN_TABLE} (event_id, occurred_day) FROM STDIN") as copy:
            if text is not None:
                copy.write(text)
            else:  # some id needs COPY escaping: psycopg's row writer does it
                for day, event_id in sorted(zip(days, ids, strict=True)):
                    copy.write_row((event_id, day))
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT seen_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT seen_copy")
    return True


def _seen_copy_text(ids, days):
    """COPY text of (id, day) rows in (day, id) order, built with joins; None when an
    id holds a backslash, tab or line break (COPY would read those as escapes)."""
    by_day = {}
    for event_id, day in zip(ids, days, strict=True):
        by_day.setdefault(day, []).append(event_id)
    chunks = []
    for day in sorted(by_day):
        day_ids = sorted(by_day[day])
        blob = "\n".join(day_ids)
        if "\\" in blob or "\t" in blob or "\r" in blob or blob.count("\n") != len(day_ids) - 1:
            return None
        tail = f"\t{day.isoformat()}\n"
        chunks.append(tail.join(day_ids) + tail)
    return "".join(chunks)


def seen_insert(cursor, ids, days):
    """ids (unique) and their occurred days -> set of the ids never seen before."""
    cursor.execute(_SEEN_STAGE_DDL)
    with cursor.copy("COPY ingest_seen_stage (event_id, occurred_day) FROM STDIN") as copy:
        for pair in zip(ids, days, strict=True):
            copy.write_row(pair)
    cursor.execute(_SEEN_INSERT)
    fresh = {row[0] for row in cursor.fetchall()}
    cursor.execute("TRUNCATE ingest_seen_stage")  # (autovacuum never visits temp tables)
    return fresh


def aggregates_upsert(cursor, rows):
    """rows: tuples in AGG_COLUMNS order (money as Decimal, last_event_at a datetime);
    figures added, last_event_at kept at the newest: one COPY, one statement."""
    if not rows:
        return
    conn = cursor.connection
    if conn not in _agg_staged:
        cursor.execute(_AGG_STAGE_DDL)
        # Known to exist once committed (a rollback drops a table created in it).
        transaction.on_commit(lambda: _agg_staged.add(conn))
    with cursor.copy(_AGG_STAGE_COPY) as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(_AGG_UPSERT)
    # Emptied here, not at commit: a caller's outer transaction may hold several
    # batches. TRUNCATE, not DELETE: autovacuum never visits temporary tables.
    cursor.execute("TRUNCATE ingest_agg_stage")


def bank_merchants_upsert(cursor, gmv_by_key):
    """gmv_by_key: {(bank_id, bucket, merchant_id, currency): gmv} -> added in one statement."""
    if not gmv_by_key:
        return
    rows = [key + (gmv,) for key, gmv in gmv_by_key.items() if gmv]
    if rows:
        cursor.execute(
            _BANK_MERCHANT_UPSERT, [list(col) for col in zip(*rows, strict=True)], binary=True
        )


def dirty_scopes_mark(cursor, spans):
    """spans: {(scope_kind, scope_id): [min_bucket, max_bucket]} -> one DirtyChange row each
    (INSERT only: never waits on a refresh)."""
    if not spans:
        return
    items = list(spans.items())
    cursor.execute(
        _DIRTY_INSERT,
        [
            [k for (k, _), _ in items],
            [i for (_, i), _ in items],
            [span[0] for _, span in items],
            [span[1] for _, span in items],
        ],
        binary=True,
    )


# ---------------------------------------------------------------- seen-store partitions


def seen_window_start(retention_days, today=None):
    """First occurred_day that still gets its own partition."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=retention_days)


def seen_partitions_ensure(cursor, days):
    """Create the daily partitions for `days`; a day whose rows already sit in the
    default partition keeps using it (still deduplicated: see docs/ingestion.md).
    Returns the days handled (created or already present)."""
    done = set()
    for day in sorted(days):
        cursor.execute("SAVEPOINT seen_partition")
        try:
            create_seen_partition(cursor, day)
        except Exception:  # check violation: the default partition holds that day
            cursor.execute("ROLLBACK TO SAVEPOINT seen_partition")
        else:
            cursor.execute("RELEASE SAVEPOINT seen_partition")
        done.add(day)
    return done


def seen_partitions_expire(cursor, retention_days, now=None):
    """Drop the daily partitions older than the window, keeping the ids first seen
    within the retention (late arrivals) by moving them to the default partition.

    Runs one partition per call of the caller's transaction; returns dropped names.
    """
    now = now or datetime.now(UTC)
    window_start = seen_window_start(retention_days, now.date())
    cutoff = now - timedelta(days=retention_days)
    dropped = []
    for name in list_partitions(cursor, SEEN_TABLE):
        day = seen_partition_day(name)
        if day is None or day >= window_start or seen_partition_name(day) != name:
            continue
        # DDL through the owner's narrow functions (docs/database-roles.md).
        cursor.execute("SELECT public.molam_seen_partition_detach(%s)", [day])
        # With the partition detached its range routes to the default partition.
        cursor.execute(
            f"INSERT INTO {SEEN_TABLE} (event_id, occurred_day, seen_at) "
            f"SELECT event_id, occurred_day, seen_at FROM {name} WHERE seen_at >= %s "
            "ON CONFLICT DO NOTHING",
            [cutoff],
        )
        cursor.execute("SELECT public.molam_seen_partition_drop(%s)", [day])
        dropped.append(name)
    cursor.execute(f"DELETE FROM {SEEN_DEFAULT} WHERE seen_at < %s", [cutoff])
    return dropped
