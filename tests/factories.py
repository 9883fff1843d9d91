"""Users for every app's tests, made through the real provisioning service."""


def make_user(username, role, scope="platform", **extra):
    """Create a user through the real provisioning service (group + scope rules)."""
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import sync_role_groups
    from accounts.services import user_create

    # Transactional tests end with a TRUNCATE of every table, role groups
    # included (the migration that made them does not run again).
    if not Group.objects.filter(name=str(role)).exists():
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        create_permissions(apps.get_app_config("accounts"), verbosity=0)
        sync_role_groups(Group, Permission)
        from dashboard.models import Widget
        from dashboard.widgets.defaults import default_widgets_ensure

        default_widgets_ensure(Widget)  # the default home layouts, emptied likewise

    return user_create(
        username=username, password="pw-test-1234", role=role, scope=scope, update=True, **extra
    )
