"""Demo and load producer: realistic West African contract events into the event topics."""

import logging
import signal
import time

import orjson
from confluent_kafka import KafkaException, Producer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.ingest.demo import DemoWorld, message_key, topic_for

log = logging.getLogger("dashboard.ingest.producer")


class Command(BaseCommand):
    help = "Produce contract events (demo or load): count or rate x duration, duplicates, invalid."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, help="stop after N events (default: unlimited)")
        parser.add_argument(
            "--rate", type=float, default=0, help="events/s (0: as fast as possible)"
        )
        parser.add_argument("--duration", type=float, help="seconds to run (0: forever)")
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable runs)")
        parser.add_argument("--duplicates", type=float, default=0.0, help="fraction re-sent")
        parser.add_argument("--invalid", type=float, default=0.0, help="fraction made invalid")
        parser.add_argument("--late", type=float, default=0.0, help="fraction 1-72 h late")
        parser.add_argument("--wallet-topic", default=None)
        parser.add_argument("--connect-topic", default=None)

    def handle(self, *args, **o):
        for name in ("duplicates", "invalid", "late"):
            if not 0 <= o[name] <= 1:
                raise CommandError(f"--{name} must be a fraction between 0 and 1")
        if o["rate"] < 0 or (o["count"] is not None and o["count"] < 0):
            raise CommandError("--rate and --count must not be negative")
        if o["count"] is None and not o["duration"] and o["duration"] != 0:
            o["count"] = 1000  # neither given: a small burst
        topics = settings.KAFKA_EVENT_TOPICS
        wallet = o["wallet_topic"] or next((t for t in topics if "wallet" in t), topics[0])
        connect = o["connect_topic"] or next((t for t in topics if "connect" in t), topics[-1])
        world = DemoWorld(seed=o["seed"] if o["seed"] is not None else time.time_ns())

        def new_producer():
            # Not idempotent: a duplicate from a retry is exactly what the
            # consumer must cope with anyway, and an idempotent producer dies
            # for good when a memory-only dev broker restarts.
            return Producer(
                {
                    "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                    "linger.ms": 20,
                    "queue.buffering.max.messages": 500000,
                }
            )

        producer = new_producer()
        stop = {"flag": False}

        def request_stop(*_):
            stop["flag"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        started = time.monotonic()
        deadline = started + o["duration"] if o["duration"] else None
        sent = dupes = bad = 0
        recent = []
        rng = world.rng
        while not stop["flag"]:
            if o["count"] is not None and sent >= o["count"]:
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if o["rate"]:
                due = int((now - started) * o["rate"]) + 1
                if sent >= due:
                    time.sleep(min(0.05, (sent + 1) / o["rate"] - (now - started)))
                    continue
            if recent and rng.random() < o["duplicates"]:
                event = rng.choice(recent)
                payload = orjson.dumps(event)
                dupes += 1
            else:
                event = world.event(late_fraction=o["late"])
                if len(recent) < 1000:
                    recent.append(event)
                else:
                    recent[rng.randrange(1000)] = event
                payload = orjson.dumps(event)
                if rng.random() < o["invalid"]:
                    spoiled, _ = world.spoil(event)
                    payload = spoiled if isinstance(spoiled, bytes) else orjson.dumps(spoiled)
                    bad += 1
            topic = topic_for(event, wallet, connect)
            while not stop["flag"]:
                try:
                    producer.produce(topic, value=payload, key=message_key(event))
                    producer.poll(0)
                    break
                except BufferError:
                    producer.poll(0.1)
                except KafkaException as exc:
                    log.warning("producer failed (%s): starting a new one in 2s", exc)
                    time.sleep(2)
                    producer = new_producer()
            sent += 1
            if sent % 10000 == 0:
                log.info("produced %d events (%d duplicates, %d invalid)", sent, dupes, bad)
        remaining = producer.flush(30)
        if remaining:
            raise CommandError(f"{remaining} events not delivered (broker unreachable?)")
        self.stdout.write(f"produced {sent} events ({dupes} duplicates, {bad} invalid)")
