"""Default home layouts (dashboard/widgets/defaults.py): the platform's 6 widgets and one
layout per scope kind for merchants, agents, banks and regions."""

from django.db import migrations

from dashboard.widgets.defaults import default_widgets_ensure


def add_defaults(apps, schema_editor):
    default_widgets_ensure(apps.get_model("dashboard", "Widget"))


def remove_defaults(apps, schema_editor):
    Widget = apps.get_model("dashboard", "Widget")
    Widget.objects.filter(scope_id="", owner=None).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0010_widget")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
