"""Snapshot, FX-rate and rollup tables: owned by dashboard/snapshots."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0003_ingest")]
    operations = []
