"""`flush` (TRUNCATE of every table) as the schema's owner when DATABASE_OWNER_URL is set:
the application role may truncate nothing (docs/database-roles.md). Transactional tests
end with a flush; without the owner's credentials it fails, as it should."""

from django.core.management.commands.flush import Command as FlushCommand

from common import dbroles


class Command(FlushCommand):
    def handle(self, **options):
        with dbroles.as_owner(options["database"]):
            super().handle(**options)
