"""Demo and load producer: realistic West African contract events into the event topics."""

import logging
import signal
import time
from datetime import UTC, datetime

import orjson
from django.core.management.base import BaseCommand, CommandError

from dashboard.ingest.demo import DEMO_RATE, DemoWorld, intensity
from dashboard.ingest.producer import EventSender

log = logging.getLogger("dashboard.ingest.producer")


class Command(BaseCommand):
    help = "Produce contract events (demo or load): count or rate x duration, duplicates, invalid."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, help="stop after N events (default: unlimited)")
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help=f"events/s (0: as fast as possible; with --shaped the mean, default {DEMO_RATE})",
        )
        parser.add_argument(
            "--shaped",
            action="store_true",
            help="follow the demo's daily and weekly shape (quiet nights, peaks, weekends), "
            "as backfill_demo's history does",
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
        if o["rate"] is None:
            o["rate"] = DEMO_RATE if o["shaped"] else 0
        if o["rate"] < 0 or (o["count"] is not None and o["count"] < 0):
            raise CommandError("--rate and --count must not be negative")
        if o["shaped"] and not o["rate"]:
            raise CommandError("--shaped needs a positive --rate")
        if o["count"] is None and not o["duration"] and o["duration"] != 0:
            o["count"] = 1000  # neither given: a small burst
        world = DemoWorld(seed=o["seed"] if o["seed"] is not None else time.time_ns())
        sender = EventSender(o["wallet_topic"], o["connect_topic"])
        stop = {"flag": False}

        def request_stop(*_):
            stop["flag"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        started = last = time.monotonic()
        deadline = started + o["duration"] if o["duration"] else None
        due = 0.0  # events the rate asked for so far
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
                rate = o["rate"] * (intensity(datetime.now(UTC)) if o["shaped"] else 1)
                due += (now - last) * rate
                last = now
                if sent >= int(due) + 1:
                    time.sleep(min(0.05, (sent + 1 - due) / rate))
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
            if not sender.send(event, payload, stopping=lambda: stop["flag"]):
                break
            sent += 1
            if sent % 10000 == 0:
                log.info("produced %d events (%d duplicates, %d invalid)", sent, dupes, bad)
        remaining = sender.flush(30)
        if remaining:
            raise CommandError(f"{remaining} events not delivered (broker unreachable?)")
        self.stdout.write(f"produced {sent} events ({dupes} duplicates, {bad} invalid)")
