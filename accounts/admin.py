from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class MolamUserAdmin(UserAdmin):
    list_display = ("username", "role", "scope_kind", "scope_id", "is_active", "last_login")
    list_filter = ("role", "scope_kind", "is_active", "is_staff")
    fieldsets = UserAdmin.fieldsets + (
        ("Role and tenant scope", {"fields": ("role", "scope_kind", "scope_id")}),
    )
