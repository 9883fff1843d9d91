"""Admin building blocks shared by the apps."""


class NoWritesAdmin:
    """Mix in before admin.ModelAdmin: the admin shows the rows, nobody adds, edits or
    deletes them there (changes go through the services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
