"""Demo history: 30 days of shaped demo traffic sent through the event topics, once.

`make up` runs it after starting the consumer, so the pages show a month of
business on first start. The events take the same path as live ones (Kafka,
`consume_events`, the snapshot refresh); a marker row (DemoBackfill) keeps a
second run from counting the history twice.
"""

import signal
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from accounts.choices import ScopeKind
from accounts.scope import Scope
from dashboard.ingest.demo import DEMO_AGENT, DEMO_RATE, DemoWorld
from dashboard.ingest.producer import EventSender, consumer_group_behind
from dashboard.models import DemoBackfill, DirtyScope
from dashboard.snapshots.refresh import snapshot_refresh_scope


class Command(BaseCommand):
    help = "Send a shaped demo history (default 30 days) through the event topics, once."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
        parser.add_argument(
            "--rate", type=float, default=DEMO_RATE, help=f"mean events/s (default {DEMO_RATE})"
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="send a new history even though one was sent (its figures add to the first's)",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="then wait until the consumer has counted it and the snapshots are "
            "refreshed; give up SECONDS after the start (default 0: do not wait)",
        )
        parser.add_argument(
            "--group", help="consumer group to wait for (default KAFKA_CONSUMER_GROUP)"
        )
        parser.add_argument("--wallet-topic", default=None)
        parser.add_argument("--connect-topic", default=None)

    def handle(self, *args, **o):
        if not 1 <= o["days"] <= 90:
            raise CommandError("--days must be between 1 and 90")
        if o["rate"] <= 0 or o["wait"] < 0:
            raise CommandError("--rate must be positive and --wait not negative")
        run = self._claim(o)
        if run is None:
            return
        started = time.monotonic()
        sender = EventSender(o["wallet_topic"], o["connect_topic"])
        sent = self._send(run, sender)
        run.events = sent
        run.finished_at = timezone.now()
        run.save(update_fields=["events", "finished_at"])
        sent_s = time.monotonic() - started
        self.stdout.write(
            f"sent {sent} events: {run.days} days of history up to "
            f"{run.history_end:%Y-%m-%d %H:%M} UTC, in {sent_s:.1f} s"
        )
        if o["wait"]:
            group = o["group"] or settings.KAFKA_CONSUMER_GROUP
            counted_s = self._wait_counted(sender, group, started + o["wait"]) - started
            self._wait_refreshed(run, started + o["wait"])
            self.stdout.write(
                f"history counted and snapshots refreshed: counted {counted_s:.1f} s, "
                f"refreshed {time.monotonic() - started:.1f} s after the start"
            )

    def _claim(self, o):
        """The run to do: a new one, the unfinished last one, or None (already done)."""
        last = DemoBackfill.objects.first()
        if last is not None and not o["force"]:
            if last.finished_at is not None:
                self.stdout.write(
                    f"demo history already sent on {last.finished_at:%Y-%m-%d %H:%M} UTC "
                    f"({last}); nothing to do (--force sends another)"
                )
                return None
            # Same seed and end: the same events, of which the consumer drops
            # the ones it already counted.
            self.stdout.write(f"resuming the unfinished demo history ({last})")
            return last
        return DemoBackfill.objects.create(
            seed=o["seed"],
            history_end=datetime.now(UTC),
            days=o["days"],
            rate=o["rate"],
        )

    def _send(self, run, sender):
        stop = {"flag": False}

        def request_stop(*_):
            stop["flag"] = True

        previous = [signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)]
        try:
            world = DemoWorld(seed=run.seed)
            sent = 0
            for event in world.history(run.history_end, days=run.days, rate=run.rate):
                if not sender.send(event, stopping=lambda: stop["flag"]):
                    break
                sent += 1
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
        remaining = sender.flush(60)
        if stop["flag"] or remaining or sender.failed:
            raise CommandError(
                f"demo history interrupted ({sent} events queued, {remaining} not delivered, "
                f"{sender.failed} refused by the broker): run the command again to finish it"
            )
        return sent

    def _wait_counted(self, sender, group, deadline):
        """Until `group` has committed everything sent; returns when (monotonic)."""
        while (behind := consumer_group_behind(group, sender.delivered)) > 0:
            if time.monotonic() > deadline:
                raise CommandError(
                    f"the consumer group {group!r} still has {behind} events of the demo "
                    "history to count (is consume_events running? see its log); the pages "
                    "fill in as it catches up"
                )
            time.sleep(0.5)
        return time.monotonic()

    def _wait_refreshed(self, run, deadline):
        """Until the scopes the demo logins open are refreshed over the history's hours.

        Every scope but the agents (the platform's top lists read the region and
        merchant rollups), and the demo agent: 100-odd scopes. The other agents'
        snapshots (a few hundred, read only when someone opens that agent) are
        left to the Celery worker, which refreshes dirty scopes every minute.
        """
        # A scope's rollups are exact over the history, and its snapshot was
        # recomputed, once its dirty mark no longer reaches back into the
        # history (live events keep marking the current hour).
        marks = DirtyScope.objects.filter(
            Q(min_bucket__lt=run.history_end.replace(minute=0, second=0, microsecond=0)),
            ~Q(scope_kind=ScopeKind.AGENT) | Q(scope_id=DEMO_AGENT),
        )
        while pairs := sorted(marks.values_list("scope_kind", "scope_id"), key=_platform_last):
            if time.monotonic() > deadline:
                raise CommandError(
                    f"the demo history is counted, but {len(pairs)} scopes' snapshots are "
                    "still being refreshed; the Celery worker finishes them within minutes"
                )
            done = [snapshot_refresh_scope(scope=Scope(kind, ident)) for kind, ident in pairs]
            if not any(done):
                time.sleep(0.5)  # the worker holds those scopes: let it finish
        # The platform (what every page opens first) as of now, after every
        # merchant and region, even if the worker claimed its mark.
        snapshot_refresh_scope(scope=Scope.platform(), wait=True)


def _platform_last(pair):
    return (pair[0] == ScopeKind.PLATFORM, pair)
