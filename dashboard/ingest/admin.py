"""Admin of ingestion: dead letters (browse, re-process)."""
