"""Snapshot, FX-rate and rollup tables: owned by dashboard/snapshots."""

from django.db import migrations, models

COUNTS = (
    "attempts", "success_count", "failed_count", "refunds_count", "disputes_count",
    "payouts_count", "payouts_failed_count", "fraud_count",
)
MONEY = (
    "gmv", "fees", "revenue", "refunds_amount", "disputes_amount", "payouts_amount",
    "fraud_amount", "cash_in_amount", "cash_out_amount",
)
_FIGURES = "".join(f"  {c} bigint NOT NULL DEFAULT 0,\n" for c in COUNTS) + "".join(
    f"  {m} numeric(24,4) NOT NULL DEFAULT 0,\n" for m in MONEY
)


def _rollup(table):
    # Per scope, hour (or UTC day) and currency/source, without the geography:
    # the time series and snapshots read a few rows per bucket instead of one
    # per city. Region scopes (region:CC) are stored here as their own rows.
    # Maintained by dashboard/snapshots/sql.py from the dirty ranges.
    return (
        f"CREATE TABLE {table} (\n"
        "  scope_kind varchar(8) NOT NULL,\n"
        "  scope_id varchar(64) NOT NULL DEFAULT '',\n"
        "  bucket timestamptz NOT NULL,\n"
        "  currency varchar(3) NOT NULL DEFAULT '',\n"
        "  source varchar(8) NOT NULL,\n"
        + _FIGURES
        + "  PRIMARY KEY (scope_kind, scope_id, bucket, currency, source)\n)"
    )


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0003_ingest")]

    operations = [
        migrations.CreateModel(
            name="FxRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("quote_currency", models.CharField(max_length=3)),
                ("rate_date", models.DateField()),
                ("rate", models.DecimalField(decimal_places=10, max_digits=24)),
                ("source", models.CharField(blank=True, default="", max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "db_table": "dashboard_fx_rate",
                "ordering": ["currency", "quote_currency", "-rate_date"],
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "quote_currency", "rate_date"),
                                            name="fx_rate_unique_day"),
                    models.CheckConstraint(condition=models.Q(("rate__gt", 0)),
                                           name="fx_rate_positive"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Snapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("scope_kind", models.CharField(max_length=8)),
                ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                ("period", models.CharField(choices=[("today", "Today (UTC)"),
                                                     ("24h", "Last 24 hours"),
                                                     ("7d", "Last 7 days"),
                                                     ("30d", "Last 30 days")], max_length=8)),
                ("body", models.TextField()),
                ("window_to", models.DateTimeField(
                    help_text="End of the period window (next hour boundary).")),
                ("as_of", models.DateTimeField(blank=True, null=True)),
                ("computed_at", models.DateTimeField()),
            ],
            options={
                "db_table": "dashboard_snapshot",
                "indexes": [
                    models.Index(fields=["computed_at"], name="snapshot_computed_at"),
                    models.Index(fields=["window_to"], name="snapshot_window_to"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("scope_kind", "scope_id", "period"),
                                            name="snapshot_unique_scope_period"),
                ],
            },
        ),
        migrations.RunSQL(
            [
                _rollup("dashboard_scope_hourly"),
                _rollup("dashboard_scope_daily"),
                # The full refresh lists the scopes active in the last weeks.
                "CREATE INDEX dashboard_scope_daily_bucket ON dashboard_scope_daily (bucket)",
                # Top merchants / countries: every scope of one kind over a time range.
                "CREATE INDEX dashboard_scope_hourly_kind_bucket "
                "ON dashboard_scope_hourly (scope_kind, bucket)",
                "CREATE INDEX dashboard_scope_daily_kind_bucket "
                "ON dashboard_scope_daily (scope_kind, bucket)",
            ],
            reverse_sql=[
                "DROP TABLE dashboard_scope_daily",
                "DROP TABLE dashboard_scope_hourly",
            ],
        ),
    ]
