"""as_of from event times, and the merchant dimension inside bank scopes.

- `last_event_at` (newest occurred_at of the events counted in the row) on the
  aggregates and both rollups. Nullable without a default: ADD COLUMN is a
  catalog change only (no table rewrite) on the partitioned parent, which
  propagates it to every partition. Rows written before this migration keep
  NULL (readers fall back to the end of the row's hour, see docs/snapshots.md).
- `dashboard_bank_merchant_hourly`: GMV per (bank, hour, merchant, currency),
  written by ingestion in the batch transaction for the events that carry
  both a bank_id and a merchant_id; read by the bank snapshots' top merchants.
"""

from django.db import migrations, models

ADD_LAST_EVENT_AT = [
    f"ALTER TABLE {t} ADD COLUMN last_event_at timestamptz"
    for t in ("dashboard_hourly_aggregate", "dashboard_scope_hourly", "dashboard_scope_daily")
]
DROP_LAST_EVENT_AT = [
    f"ALTER TABLE {t} DROP COLUMN last_event_at"
    for t in ("dashboard_hourly_aggregate", "dashboard_scope_hourly", "dashboard_scope_daily")
]
# Primary key (bank_id, bucket, merchant_id, currency): the only read is "one
# bank over a time range, grouped by merchant", an index range scan.
CREATE_BANK_MERCHANT = (
    "CREATE TABLE dashboard_bank_merchant_hourly (\n"
    "  bank_id varchar(64) NOT NULL,\n"
    "  bucket timestamptz NOT NULL,\n"
    "  merchant_id varchar(64) NOT NULL,\n"
    "  currency varchar(3) NOT NULL DEFAULT '',\n"
    "  gmv numeric(24,4) NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (bank_id, bucket, merchant_id, currency)\n"
    ")"
)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0004_snapshots")]

    operations = [
        migrations.RunSQL(
            [*ADD_LAST_EVENT_AT, CREATE_BANK_MERCHANT],
            reverse_sql=["DROP TABLE dashboard_bank_merchant_hourly", *DROP_LAST_EVENT_AT],
        ),
        # HourlyAggregate is unmanaged: this only updates the migration state.
        migrations.AddField(
            model_name="hourlyaggregate",
            name="last_event_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                help_text="Newest occurred_at of the events counted in this row.",
            ),
        ),
    ]
