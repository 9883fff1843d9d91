"""Dirty marks become an append-only change log (dashboard_dirty_change).

Before: one row per scope (unique), upserted by every ingestion batch and
deleted by the refresh at its claim, so a batch waited on any refresh holding
that row (for minutes behind a rollup rebuild). Now ingestion only INSERTs
rows (no unique key, no ON CONFLICT) and the refresh deletes exactly the rows
it read. `dashboard_dirtyscope` becomes a read-only view summing the pending
changes per scope, for the readers that list dirty scopes. Existing marks are
carried over as one change each.
"""

from django.db import migrations, models

VIEW = (
    "CREATE VIEW dashboard_dirtyscope AS SELECT scope_kind, scope_id, "
    "min(min_bucket) AS min_bucket, max(max_bucket) AS max_bucket, max(marked_at) AS marked_at "
    "FROM dashboard_dirty_change GROUP BY scope_kind, scope_id"
)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0008_deadletter_identity")]

    operations = [
        migrations.CreateModel(
            name="DirtyChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("scope_kind", models.CharField(max_length=8)),
                ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                (
                    "min_bucket",
                    models.DateTimeField(blank=True, help_text="First changed hour.", null=True),
                ),
                (
                    "max_bucket",
                    models.DateTimeField(blank=True, help_text="Last changed hour.", null=True),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[("events", "Events counted"), ("fx_rates", "FX rates changed")],
                        max_length=16,
                    ),
                ),
                ("marked_at", models.DateTimeField()),
            ],
            options={
                "db_table": "dashboard_dirty_change",
                "indexes": [
                    models.Index(
                        fields=["scope_kind", "scope_id"],
                        include=["min_bucket", "max_bucket"],
                        name="dirty_change_scope",
                    ),
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO dashboard_dirty_change (scope_kind, scope_id, min_bucket, max_bucket, "
            "reason, marked_at) SELECT scope_kind, scope_id, min_bucket, max_bucket, 'events', "
            "marked_at FROM dashboard_dirtyscope ORDER BY scope_kind, scope_id",
            reverse_sql=(
                "INSERT INTO dashboard_dirtyscope (scope_kind, scope_id, min_bucket, max_bucket, "
                "marked_at) SELECT scope_kind, scope_id, "
                "coalesce(min(min_bucket), date_trunc('hour', now())), "
                "coalesce(max(max_bucket), date_trunc('hour', now())), max(marked_at) "
                "FROM dashboard_dirty_change GROUP BY scope_kind, scope_id"
            ),
        ),
        migrations.DeleteModel(name="DirtyScope"),
        migrations.CreateModel(
            name="DirtyScope",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "scope_kind",
                        "scope_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("scope_kind", models.CharField(max_length=8)),
                ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                ("min_bucket", models.DateTimeField(null=True)),
                ("max_bucket", models.DateTimeField(null=True)),
                ("marked_at", models.DateTimeField()),
            ],
            options={"db_table": "dashboard_dirtyscope", "managed": False},
        ),
        migrations.RunSQL(VIEW, reverse_sql="DROP VIEW dashboard_dirtyscope"),
    ]
