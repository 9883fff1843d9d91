"""Show or change the auto-remediation policy (sira/autoremediation.py); every change is
audited. The kill switch: `manage.py sira_autoremediation --kill`."""

import json

from django.core.management.base import BaseCommand, CommandError

from common.errors import ValidationFailed
from sira.autoremediation import low_risk_types, policy_snapshot, policy_update
from sira.selectors import policy_get


class Command(BaseCommand):
    help = "Show or change the SIRA auto-remediation policy (off by default)."

    def add_arguments(self, parser):
        on_off = parser.add_mutually_exclusive_group()
        on_off.add_argument("--enable", action="store_true")
        on_off.add_argument("--disable", action="store_true")
        kill = parser.add_mutually_exclusive_group()
        kill.add_argument("--kill", action="store_true", help="kill switch: stop at once")
        kill.add_argument("--revive", action="store_true", help="release the kill switch")
        parser.add_argument("--dry-run", choices=["on", "off"])
        parser.add_argument(
            "--types", help=f"comma-separated action types among {', '.join(low_risk_types())}"
        )
        parser.add_argument("--min-confidence", help="0 to 1")
        parser.add_argument("--max-per-hour", type=int)
        parser.add_argument("--by", default="", help="who asks (recorded in the audit)")

    def handle(self, *args, **opts):
        changes = {}
        if opts["enable"] or opts["disable"]:
            changes["enabled"] = bool(opts["enable"])
        if opts["kill"] or opts["revive"]:
            changes["killed"] = bool(opts["kill"])
        if opts["dry_run"]:
            changes["dry_run"] = opts["dry_run"] == "on"
        if opts["types"] is not None:
            changes["action_types"] = [t.strip() for t in opts["types"].split(",") if t.strip()]
        if opts["min_confidence"] is not None:
            changes["min_confidence"] = opts["min_confidence"]
        if opts["max_per_hour"] is not None:
            changes["max_per_hour"] = opts["max_per_hour"]
        if changes:
            label = f"manage.py ({opts['by']})" if opts["by"] else "manage.py"
            try:
                policy_update(actor=None, label=label, **changes)
            except ValidationFailed as exc:
                raise CommandError(f"{exc.detail} {exc.errors}")
        self.stdout.write(json.dumps(policy_snapshot(policy_get()), indent=2))
