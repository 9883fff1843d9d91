"""Prometheus metrics of ingestion (served by the web /metrics and `consume_events --metrics-port`).

With PROMETHEUS_MULTIPROC_DIR set (as `make up` does) prometheus_client writes
these to shared files, so the web process's /metrics shows the consumer's too;
gauges of processes that died are dropped (dashboard/prometheus.py).
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "dashboard_ingest_events",
    "Messages consumed, by topic and event type ('invalid' for dead letters).",
    ["topic", "type"],
)
COUNTED = Counter("dashboard_ingest_counted_events", "Events counted into the aggregates.")
DUPLICATES = Counter(
    "dashboard_ingest_duplicates", "Deliveries dropped as already counted (same event_id)."
)
DEAD_LETTERS = Counter(
    "dashboard_ingest_dead_letters", "Events dead-lettered, by reason.", ["reason"]
)
BATCH_SIZE = Histogram(
    "dashboard_ingest_batch_size",
    "Messages per ingested batch.",
    buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000),
)
BATCH_SECONDS = Histogram(
    "dashboard_ingest_batch_seconds",
    "Time to ingest one batch (validate, dedupe, upsert, commit).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_RETRIES = Counter(
    "dashboard_ingest_db_retries", "Batches retried after a database (or other) failure."
)
COMMIT_FAILURES = Counter(
    "dashboard_ingest_offset_commit_failures", "Kafka offset commits that failed."
)
# "livemax": the value of live processes only. A consumer that dies keeps its
# last figures in its file until marked dead (dashboard/prometheus.py), and with
# "max" they were shown for ever: thousands of messages of lag of dead consumers.
CONSUMER_LAG = Gauge(
    "dashboard_ingest_consumer_lag",
    "Messages behind the high watermark, as reported by the broker (-1 unknown).",
    ["topic", "partition"],
    multiprocess_mode="livemax",
)
