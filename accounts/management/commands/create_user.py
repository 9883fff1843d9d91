from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Role
from accounts.services import user_create
from common.errors import DomainError


class Command(BaseCommand):
    help = "Provision a user: --username U --password P --role ROLE --scope SCOPE"

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--scope",
            required=True,
            help="platform, merchant:ID, agent:ID, bank:ID or region:CC",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--update", action="store_true", help="reset an existing user")

    def handle(self, *args, **opts):
        try:
            user = user_create(
                username=opts["username"],
                password=opts["password"],
                role=opts["role"],
                scope=opts["scope"],
                email=opts["email"],
                update=opts["update"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"user {user.username} role={user.role} scope={user.scope}")
