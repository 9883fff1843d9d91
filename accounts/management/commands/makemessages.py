"""makemessages that also extracts the dashboard's JS translation calls."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    """Django's makemessages; the djangojs domain also extracts t("...") calls.

    Page scripts translate with Molam.t("...") or a local alias t("...") (static/js/app.js);
    xgettext's JavaScript parser matches the last name of a dotted call, so one keyword
    covers both. Python sources keep Django's keywords only.
    """

    def handle(self, *args, **options):
        if options.get("domain") == "djangojs":
            self.xgettext_options = [*self.xgettext_options, "--keyword=t"]
        return super().handle(*args, **options)
