"""Verify the ops audit hash chain: prints OK or the first broken row (exit 1)."""

from django.core.management.base import BaseCommand, CommandError

from opsactions.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the SHA-256 hash chain of the ops audit log."

    def handle(self, *args, **options):
        result = audit_verify()
        if result.ok:
            self.stdout.write(f"OK: {result.count} audit rows verified, head {result.head}")
            return
        raise CommandError(
            f"BROKEN at seq {result.broken_seq}: {result.reason} "
            f"({result.count} rows verified before it)"
        )
