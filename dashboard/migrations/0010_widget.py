"""The Widget model: the panels of each home page (dashboard/widgets)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0009_dirty_marks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Widget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope_kind",
                    models.CharField(
                        choices=[
                            ("platform", "Platform"),
                            ("merchant", "Merchant"),
                            ("agent", "Agent"),
                            ("bank", "Bank"),
                            ("region", "Region (country)"),
                        ],
                        max_length=8,
                    ),
                ),
                ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("chart_line", "Line chart"),
                            ("chart_bar", "Bar chart"),
                            ("gauge", "Gauge"),
                            ("table", "Top-N table"),
                            ("list", "Latest items"),
                            ("map", "Agent map"),
                            ("alert_list", "Alerts"),
                        ],
                        max_length=16,
                    ),
                ),
                ("title", models.CharField(max_length=120)),
                ("x", models.PositiveSmallIntegerField(default=0)),
                ("y", models.PositiveSmallIntegerField(default=0)),
                ("w", models.PositiveSmallIntegerField(default=4)),
                ("h", models.PositiveSmallIntegerField(default=3)),
                ("config", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: the scope's shared layout.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="widgets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "dashboard_widget",
                "ordering": ["y", "x", "id"],
                "indexes": [
                    models.Index(
                        fields=["scope_kind", "scope_id", "owner"], name="widget_layout_idx"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("h__gte", 1), ("w__gte", 1), ("w__lte", 12), ("x__lt", 12)
                        ),
                        name="widget_position_valid",
                    )
                ],
            },
        ),
    ]
