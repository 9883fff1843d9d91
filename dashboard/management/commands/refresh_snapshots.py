"""Recompute snapshots now (what the beat tasks do), or rebuild the rollups after a bulk load."""

import json
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.scope import Scope, ScopeSyntaxError
from dashboard.snapshots import series_cache
from dashboard.snapshots.refresh import (
    rollups_rebuild,
    snapshot_refresh_scope,
    snapshots_refresh_all,
    snapshots_refresh_dirty,
)


class Command(BaseCommand):
    help = "Refresh dirty snapshots (default), --all, one --scope, or --rebuild-rollups."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every active scope")
        parser.add_argument("--scope", help="one scope, e.g. merchant:m_1042")
        parser.add_argument(
            "--rebuild-rollups",
            type=int,
            metavar="DAYS",
            help="rebuild the hourly/daily rollups of the last DAYS days from the aggregates",
        )

    def handle(self, *args, **opts):
        if opts["rebuild_rollups"]:
            until = datetime.now(UTC) + timedelta(days=1)
            rollups_rebuild(since=until - timedelta(days=opts["rebuild_rollups"] + 1), until=until)
            self.stdout.write("rollups rebuilt")
        if opts["scope"]:
            try:
                scope = Scope.parse(opts["scope"])
            except ScopeSyntaxError as exc:
                raise CommandError(exc.detail) from None
            snapshot_refresh_scope(scope=scope, wait=True)
            self.stdout.write(f"{scope} refreshed")
        elif opts["all"]:
            # Everything cached is suspect (a restore): the stored time-series answers too.
            series_cache.forget_all()
            self.stdout.write(json.dumps(snapshots_refresh_all()))
        elif not opts["rebuild_rollups"]:
            self.stdout.write(json.dumps(snapshots_refresh_dirty()))
