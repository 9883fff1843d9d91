"""Consume SIRA recommendations from Kafka (see sira/consumer.py)."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sira.consumer import RecommendationConsumer


class Command(BaseCommand):
    help = "Kafka consumer: sira.recommendations -> recommendations, invalid ones dead-lettered."

    def add_arguments(self, parser):
        parser.add_argument("--topic", help="default: SIRA_KAFKA_TOPIC")
        parser.add_argument("--group-id", help="default: SIRA_KAFKA_GROUP")
        parser.add_argument("--until-idle", type=float, metavar="SECONDS")
        parser.add_argument("--max-messages", type=int, metavar="N")
        parser.add_argument("--stats-json", action="store_true")

    def handle(self, *args, **opts):
        if opts["until_idle"] is not None and opts["until_idle"] <= 0:
            raise CommandError("--until-idle must be positive")
        if opts["max_messages"] is not None and opts["max_messages"] < 1:
            raise CommandError("--max-messages must be at least 1")
        consumer = RecommendationConsumer(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            topic=opts["topic"] or settings.SIRA_KAFKA_TOPIC,
            group_id=opts["group_id"] or settings.SIRA_KAFKA_GROUP,
            dlq_topic=settings.SIRA_KAFKA_DLQ_TOPIC,
            until_idle=opts["until_idle"],
            max_messages=opts["max_messages"],
            session_timeout_ms=settings.KAFKA_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=settings.KAFKA_HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=settings.KAFKA_MAX_POLL_INTERVAL_MS,
        )
        consumer.install_signal_handlers()
        stats = consumer.run()
        if opts["stats_json"]:
            self.stdout.write(json.dumps(stats))
