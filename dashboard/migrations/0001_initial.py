from datetime import date

from django.db import migrations, models

from dashboard.partitions import create_month_partition_sql, months_between

COUNTS = (
    "attempts", "success_count", "failed_count", "refunds_count", "disputes_count",
    "payouts_count", "payouts_failed_count", "fraud_count",
)
MONEY = (
    "gmv", "fees", "revenue", "refunds_amount", "disputes_amount", "payouts_amount",
    "fraud_amount", "cash_in_amount", "cash_out_amount",
)

# The aggregate table is range-partitioned by month on `bucket`. The primary key
# leads with (scope_kind, scope_id, bucket): every read is "one scope over a time
# range", so that is the index the time series and snapshots walk.
CREATE_AGGREGATE = (
    "CREATE TABLE dashboard_hourly_aggregate (\n"
    "  bucket timestamptz NOT NULL,\n"
    "  scope_kind varchar(8) NOT NULL,\n"
    "  scope_id varchar(64) NOT NULL DEFAULT '',\n"
    "  country varchar(2) NOT NULL,\n"
    "  region varchar(64) NOT NULL DEFAULT '',\n"
    "  city varchar(64) NOT NULL DEFAULT '',\n"
    "  currency varchar(3) NOT NULL DEFAULT '',\n"
    "  source varchar(8) NOT NULL,\n"
    + "".join(f"  {c} bigint NOT NULL DEFAULT 0,\n" for c in COUNTS)
    + "".join(f"  {m} numeric(24,4) NOT NULL DEFAULT 0,\n" for m in MONEY)
    + "  PRIMARY KEY (scope_kind, scope_id, bucket, country, region, city, currency, source)\n"
    ") PARTITION BY RANGE (bucket)"
)
PARTITIONS = [
    create_month_partition_sql("dashboard_hourly_aggregate", m)
    for m in months_between(date(2025, 1, 1), date(2027, 12, 1))
]
DEFAULT_PARTITION = (
    "CREATE TABLE dashboard_hourly_aggregate_default PARTITION OF dashboard_hourly_aggregate DEFAULT"
)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            [CREATE_AGGREGATE, *PARTITIONS, DEFAULT_PARTITION],
            reverse_sql="DROP TABLE dashboard_hourly_aggregate",
        ),
        migrations.CreateModel(
            name="DirtyScope",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("scope_kind", models.CharField(max_length=8)),
                ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                ("min_bucket", models.DateTimeField()),
                ("max_bucket", models.DateTimeField()),
                ("marked_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("scope_kind", "scope_id"),
                                            name="dirty_scope_unique")
                ]
            },
        ),
    ]
