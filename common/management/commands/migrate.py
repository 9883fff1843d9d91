"""`migrate` as the schema's owner (DATABASE_OWNER_URL), then the application role's
privileges (common/dbroles.py, docs/database-roles.md)."""

from django.core.management.commands.migrate import Command as MigrateCommand

from common import dbroles


class Command(MigrateCommand):
    help = (
        "Updates the database schema as its owner (DATABASE_OWNER_URL when set), then "
        "grants the application role (DATABASE_URL) its privileges."
    )

    def handle(self, *args, **options):
        with dbroles.as_owner(options["database"]) as conn:
            super().handle(*args, **options)
            if not (options.get("plan") or options.get("check_unapplied")):
                dbroles.privileges_apply(conn)
