"""Ingestion tables: the seen-id store (partitioned, raw SQL) and dead letters."""

from datetime import UTC, datetime, timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from dashboard.partitions import create_seen_partition_sql

# The seen-id store: one row per counted event_id, range-partitioned by the
# event's own UTC day. A given event always routes to the same partition, so
# the primary key is a global uniqueness check; old days are dropped whole by
# dashboard.tasks.maintain_partitions (see docs/ingestion.md). The default
# partition holds late arrivals whose day is already out of the window; it is
# pruned by seen_at, hence its own index. event_id is COLLATE "C": ids are
# opaque, and byte comparison makes the per-event index insert cheaper.
CREATE_SEEN = [
    "CREATE TABLE dashboard_seen_event (\n"
    "  event_id varchar(64) COLLATE \"C\" NOT NULL,\n"
    "  occurred_day date NOT NULL,\n"
    "  seen_at timestamptz NOT NULL DEFAULT now(),\n"
    "  PRIMARY KEY (event_id, occurred_day)\n"
    ") PARTITION BY RANGE (occurred_day)",
    "CREATE TABLE dashboard_seen_event_default PARTITION OF dashboard_seen_event DEFAULT",
    "CREATE INDEX dashboard_seen_event_default_seen_at ON dashboard_seen_event_default (seen_at)",
]


def create_seen_window(apps, schema_editor):
    """Daily partitions for the retention window and the next days."""
    today = datetime.now(UTC).date()
    days = settings.SEEN_EVENT_RETENTION_DAYS
    with schema_editor.connection.cursor() as cursor:
        for n in range(-days, 4):
            cursor.execute(create_seen_partition_sql(today + timedelta(days=n)))


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_hourlyaggregate"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(CREATE_SEEN, reverse_sql="DROP TABLE dashboard_seen_event"),
        migrations.RunPython(create_seen_window, migrations.RunPython.noop),
        migrations.CreateModel(
            name="DeadLetter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("received_at", models.DateTimeField(db_index=True)),
                ("topic", models.CharField(blank=True, default="", max_length=249)),
                ("partition", models.IntegerField(blank=True, null=True)),
                ("offset", models.BigIntegerField(blank=True, null=True)),
                ("key", models.BinaryField(blank=True, null=True)),
                ("payload", models.BinaryField(help_text="The original message bytes.")),
                (
                    "event_id",
                    models.CharField(blank=True, db_index=True, default="", max_length=64),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("invalid_json", "Not a UTF-8 JSON object"),
                            ("missing_field", "Required field missing"),
                            ("invalid_field", "Field of the wrong type or length"),
                            ("unknown_type", "Unknown event type"),
                            ("invalid_source", "Source unknown or not allowed for the type"),
                            ("invalid_timestamp", "occurred_at is not RFC 3339 with an offset"),
                            ("future_timestamp", "occurred_at more than 5 minutes in the future"),
                            ("invalid_currency", "Not an ISO 4217 currency code"),
                            ("invalid_country", "Not an ISO 3166-1 alpha-2 country code"),
                            ("invalid_amount", "Not a decimal, more than 4 decimals or too large"),
                            ("negative_amount", "Amount, fee or cost below zero"),
                            ("invalid_location", "location is not {lat, lon} within range"),
                        ],
                        db_index=True,
                        max_length=32,
                    ),
                ),
                ("detail", models.TextField(blank=True, default="")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("reprocessed", "Re-processed and counted"),
                            ("duplicate", "Re-processed: already counted"),
                            ("still_invalid", "Re-processed: still invalid"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("reprocessed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "reprocessed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "dashboard_dead_letter",
                "ordering": ["-received_at", "-id"],
                "indexes": [
                    models.Index(fields=["status", "received_at"], name="dead_letter_status_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("offset__isnull", False)),
                        fields=("topic", "partition", "offset"),
                        name="dead_letter_unique_kafka_position",
                    )
                ],
            },
        ),
    ]
