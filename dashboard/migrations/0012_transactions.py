"""Transactions: every counted event, partitioned by UTC day (dashboard/transactions/)."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

from dashboard.partitions import create_tx_partition_sql

# Raw SQL: a range-partitioned table (the ORM has no partitioning). No primary
# key: the seen-id store already guarantees one row per counted event, and a
# unique index would have to include occurred_at anyway. event_id is COLLATE
# "C" (opaque ids, byte order: cheaper index inserts, and the keyset order).
# Indexes serve the reads of docs/transactions.md: pages of a scope in
# (occurred_at, event_id) order, newest first; the event lookup by id.
CREATE_TX = [
    "CREATE TABLE dashboard_transaction (\n"
    '  event_id varchar(64) COLLATE "C" NOT NULL,\n'
    "  type varchar(32) NOT NULL,\n"
    "  source varchar(16) NOT NULL,\n"
    "  occurred_at timestamptz NOT NULL,\n"
    "  currency varchar(3),\n"
    "  amount numeric,\n"
    "  fee numeric,\n"
    "  cost numeric,\n"
    "  balance numeric,\n"
    "  merchant_id varchar(64),\n"
    "  agent_id varchar(64),\n"
    "  bank_id varchar(64),\n"
    "  country varchar(2) NOT NULL,\n"
    "  region varchar(64) NOT NULL DEFAULT '',\n"
    "  city varchar(64) NOT NULL DEFAULT '',\n"
    "  ingested_at timestamptz NOT NULL DEFAULT now()\n"
    ") PARTITION BY RANGE (occurred_at)",
    # Takes the days without a partition of their own: ingestion never fails for
    # lack of one (retention deletes its old rows; see dashboard/transactions/retention.py).
    "CREATE TABLE dashboard_transaction_default PARTITION OF dashboard_transaction DEFAULT",
    "CREATE INDEX dashboard_transaction_time ON dashboard_transaction (occurred_at, event_id)",
    "CREATE INDEX dashboard_transaction_merchant ON dashboard_transaction "
    "(merchant_id, occurred_at, event_id) WHERE merchant_id IS NOT NULL",
    "CREATE INDEX dashboard_transaction_agent ON dashboard_transaction "
    "(agent_id, occurred_at, event_id) WHERE agent_id IS NOT NULL",
    "CREATE INDEX dashboard_transaction_bank ON dashboard_transaction "
    "(bank_id, occurred_at, event_id) WHERE bank_id IS NOT NULL",
    "CREATE INDEX dashboard_transaction_event ON dashboard_transaction (event_id)",
]


def create_window(apps, schema_editor):
    """The partitions of the last two days and the next three (beat keeps days ahead)."""
    today = datetime.now(UTC).date()
    with schema_editor.connection.cursor() as cursor:
        for n in range(-2, 4):
            cursor.execute(create_tx_partition_sql(today + timedelta(days=n)))


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0011_default_widgets")]

    operations = [
        migrations.RunSQL(CREATE_TX, reverse_sql="DROP TABLE dashboard_transaction"),
        migrations.RunPython(create_window, migrations.RunPython.noop),
    ]
