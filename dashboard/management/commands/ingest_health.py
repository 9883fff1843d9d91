"""Liveness probe of the event consumers (e.g. a container health check): exit 0 when a
consumer has a live heartbeat and is not stalled, 1 otherwise, with the reason."""

import json
import socket
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.health import assess_consumer, redis_client
from dashboard.ingest.heartbeat import consumers


class Command(BaseCommand):
    help = (
        "Exit 1 unless a consumer of the group (of this host with --this-host) has a live "
        "heartbeat and is not stalled (lag with no offset commit for INGEST_STALL_S)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--group", help="consumer group (default: KAFKA_CONSUMER_GROUP)")
        parser.add_argument(
            "--this-host",
            action="store_true",
            help="only consumers running on this host (a container's own consumer)",
        )
        parser.add_argument("--json", action="store_true", help="print the consumers as JSON")

    def handle(self, *args, **opts):
        group = opts["group"] or settings.KAFKA_CONSUMER_GROUP
        here = socket.gethostname()
        now = time.time()
        try:
            found = consumers(group, client=redis_client(timeout=2))
        except Exception as exc:  # noqa: BLE001 - a probe answers, it does not crash
            self.stderr.write(f"ingestion: heartbeats unreadable ({type(exc).__name__}: {exc})")
            sys.exit(1)
        if opts["this_host"]:
            found = [c for c in found if c.get("host") == here]
        entries, problems, alive = [], [], 0
        for c in found:
            entry, live, problem = assess_consumer(c, now=now, here=here)
            entries.append(entry)
            alive += live
            if problem:
                problems.append(problem)
        if not alive:
            where = f" on {here}" if opts["this_host"] else ""
            problems.insert(0, f"down: no live consumer heartbeat in group {group}{where}")
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": not problems, "consumers": entries}))
        else:
            for e in entries:
                self.stdout.write(
                    f"{e['consumer']} {e['state']} heartbeat {e['heartbeat_age_s']} s ago, "
                    f"{len(e['partitions'])} partition(s), lag {e['lag']}, "
                    f"last commit {e['last_commit_age_s']} s ago"
                )
        for p in problems:
            self.stderr.write(f"ingestion: {p}")
        if problems:
            sys.exit(1)
