"""Ingestion tables (seen ids, dead letters, ...): owned by dashboard/ingest."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_hourlyaggregate")]
    operations = []
