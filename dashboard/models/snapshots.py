"""Snapshot, FX-rate and rollup models (dashboard/snapshots owns them)."""
