"""Ingestion models: seen event ids, dead letters (dashboard/ingest owns them)."""
