from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_SUPERUSER, DEMO_USERS
from accounts.models import User
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create the demo users of every role (idempotent); --print-logins lists them."

    def add_arguments(self, parser):
        parser.add_argument("--print-logins", action="store_true")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **opts):
        if opts["print_logins"]:
            for username, password, role, scope in DEMO_USERS:
                self.stdout.write(f"  {username:<16} {password:<26} {role:<15} {scope}")
            self.stdout.write(f"  {DEMO_SUPERUSER[0]:<16} {DEMO_SUPERUSER[1]:<26} superuser")
            return
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production")
        for username, password, role, scope in DEMO_USERS:
            user_create(username=username, password=password, role=role, scope=scope, update=True)
        name, password = DEMO_SUPERUSER
        admin = User.objects.filter(username=name).first() or User(username=name)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        # Later apps hook their demo data in here (agents, FX rates, alert rules).
        from django.apps import apps

        for config in apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if callable(seed):
                seed()
        if not opts["quiet"]:
            self.stdout.write(f"{len(DEMO_USERS) + 1} demo users ready")
