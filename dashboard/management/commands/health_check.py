"""The health checks of /api/dashboard/health from the command line (container probes,
scripts): exit 0 when every check run is ok, 1 otherwise."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from dashboard.health import run_checks


class Command(BaseCommand):
    help = (
        "Run the health checks (all, or those named, plus what they depend on); exit 1 on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument("checks", nargs="*", help="e.g. celery_beat ingestion (default: all)")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, **opts):
        try:
            ok, results = run_checks(opts["checks"] or None)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": ok, "checks": results}, default=str))
        else:
            for name, r in results.items():
                details = {k: v for k, v in r.items() if k not in ("ok", "ms")}
                self.stdout.write(f"{name:<14} {'ok' if r['ok'] else 'FAIL'} {json.dumps(details)}")
        if not ok:
            sys.exit(1)
