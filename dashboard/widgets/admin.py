"""Admin of widgets: staff arrange the shared layouts and the kind defaults here."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from common.errors import ValidationFailed
from dashboard.models import Widget
from dashboard.widgets.schemas import validate_config
from dashboard.widgets.services import validate_position


class WidgetForm(forms.ModelForm):
    """Checks the config against the type's schema and the position against the grid."""

    class Meta:
        model = Widget
        fields = ["scope_kind", "scope_id", "owner", "type", "title", "x", "y", "w", "h", "config"]

    def clean(self):
        data = super().clean()
        try:
            data["config"] = validate_config(
                data.get("type"), data.get("config"), data.get("scope_kind")
            )
            validate_position({k: data.get(k) for k in ("x", "y", "w", "h")})
        except ValidationFailed as exc:
            raise ValidationError(
                [f"{field}: {' '.join(messages)}" for field, messages in (exc.errors or {}).items()]
                or [exc.detail]
            )
        return data


@admin.register(Widget)
class WidgetAdmin(admin.ModelAdmin):
    form = WidgetForm
    list_display = ["title", "type", "scope_kind", "scope_id", "owner", "x", "y", "w", "h",
                    "updated_at"]  # fmt: skip
    list_filter = ["type", "scope_kind"]
    search_fields = ["title", "scope_id", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
