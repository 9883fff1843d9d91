"""Consume wallet/connect events into the hourly aggregates (see dashboard/ingest/consumer.py)."""

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.ingest.consumer import EventConsumer
from dashboard.prometheus import prune_dead_processes


class Command(BaseCommand):
    help = "Kafka consumer group member: events -> hourly aggregates, exactly once."

    def add_arguments(self, parser):
        parser.add_argument("--topics", help="comma-separated (default: KAFKA_EVENT_TOPICS)")
        parser.add_argument("--group-id", help="consumer group (default: KAFKA_CONSUMER_GROUP)")
        parser.add_argument("--batch-size", type=int, help="messages per batch (KAFKA_BATCH_SIZE)")
        parser.add_argument(
            "--until-idle",
            type=float,
            metavar="SECONDS",
            help="stop after SECONDS without messages",
        )
        parser.add_argument("--max-messages", type=int, metavar="N", help="stop after N messages")
        parser.add_argument(
            "--processes",
            type=int,
            metavar="N",
            help="worker processes that prepare and write batches (INGEST_PROCESSES; at least 1)",
        )
        parser.add_argument(
            "--metrics-port", type=int, help="serve Prometheus metrics on this port (0: off)"
        )
        parser.add_argument(
            "--stats-json", action="store_true", help="print the run's stats as JSON on exit"
        )

    def handle(self, *args, **opts):
        topics = [t.strip() for t in (opts["topics"] or "").split(",") if t.strip()]
        topics = topics or settings.KAFKA_EVENT_TOPICS
        batch_size = opts["batch_size"] or settings.KAFKA_BATCH_SIZE
        for name in ("batch_size", "max_messages", "metrics_port"):
            if opts[name] is not None and opts[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative")
        if opts["processes"] is not None and opts["processes"] < 1:
            raise CommandError("--processes must be at least 1")
        if opts["until_idle"] is not None and opts["until_idle"] <= 0:
            raise CommandError("--until-idle must be positive")
        if opts["metrics_port"]:
            from prometheus_client import start_http_server

            start_http_server(opts["metrics_port"])
        consumer = EventConsumer(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            topics=topics,
            group_id=opts["group_id"] or settings.KAFKA_CONSUMER_GROUP,
            dlq_topic=settings.KAFKA_DLQ_TOPIC,
            dlq_max_message_bytes=settings.KAFKA_DLQ_MAX_MESSAGE_BYTES,
            dlq_retry_seconds=settings.KAFKA_DLQ_RETRY_SECONDS,
            batch_size=batch_size,
            until_idle=opts["until_idle"],
            max_messages=opts["max_messages"],
            processes=settings.INGEST_PROCESSES if opts["processes"] is None else opts["processes"],
            session_timeout_ms=settings.KAFKA_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=settings.KAFKA_HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=settings.KAFKA_MAX_POLL_INTERVAL_MS,
        )
        consumer.install_signal_handlers()
        # Gauges left by consumers (and their worker processes) that died, e.g. the
        # lag of a killed consumer, go now; the worker processes' own at exit.
        prune_dead_processes()
        started = time.time()
        try:
            stats = consumer.run()
        finally:
            prune_dead_processes()
        stats["wall_seconds"] = round(time.time() - started, 3)
        if stats["first_message_at"] and stats["last_commit_at"]:
            stats["drain_seconds"] = round(stats["last_commit_at"] - stats["first_message_at"], 3)
        if opts["stats_json"]:
            self.stdout.write(json.dumps(stats))
