"""Widgets API: the caller's home layout per scope, CRUD, bulk layout, reset, each widget's data.

Every view parses input, resolves the scope through accounts.scope (a scope the caller
may not read is a 403), finds the widget through dashboard.widgets.selectors (another
tenant's or another user's widget is a 404), calls one service, renders.
"""

from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.schema import OPTIONAL_SCOPE_PATTERN, SCOPE_HELP
from accounts.scope import resolve_scope
from dashboard.models import Widget
from dashboard.models.widgets import GRID_COLUMNS
from dashboard.widgets import services
from dashboard.widgets.choices import WidgetType
from dashboard.widgets.data import widget_data
from dashboard.widgets.openapi import any_config_schema, config_schema, data_schema
from dashboard.widgets.schemas import default_for_kind, type_allowed, validate_config
from dashboard.widgets.selectors import layout_for, widget_get, widget_queryset, widget_scope

_POSITION_SCHEMA = {
    "type": "object",
    "properties": {
        "x": {"type": "integer", "minimum": 0, "maximum": GRID_COLUMNS - 1},
        "y": {"type": "integer", "minimum": 0, "maximum": services.MAX_ROW},
        "w": {"type": "integer", "minimum": 1, "maximum": GRID_COLUMNS},
        "h": {"type": "integer", "minimum": 1, "maximum": services.MAX_HEIGHT},
    },
    "required": ["x", "y", "w", "h"],
    "additionalProperties": False,
    "description": f"On a {GRID_COLUMNS}-column grid; x + w at most {GRID_COLUMNS}.",
}


@extend_schema_field(any_config_schema())
class ConfigField(serializers.JSONField):
    """A widget config (checked by the type's schema in the service: 400 `config.<name>`)."""


@extend_schema_field(_POSITION_SCHEMA)
class PositionField(serializers.JSONField):
    """{x, y, w, h} (checked in the service: 400 `position.<part>`)."""


class WidgetSerializer(serializers.Serializer):
    """A widget as the API answers it."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=WidgetType.choices)
    title = serializers.CharField()
    config = ConfigField()
    position = PositionField()
    scope = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    is_default = serializers.BooleanField(
        source="is_kind_default", help_text="The default layout of every scope of its kind."
    )
    updated_at = serializers.DateTimeField()

    def get_scope(self, widget) -> str:
        if widget.is_kind_default:
            shown = self.context.get("scope")
            return (
                str(shown)
                if shown is not None and shown.kind == widget.scope_kind
                else (f"{widget.scope_kind}:*")
            )
        if not widget.scope_id:
            return widget.scope_kind
        return f"{widget.scope_kind}:{widget.scope_id}"

    def get_owner(self, widget) -> str | None:
        return widget.owner.username if widget.owner_id else None


_SCOPE_FIELD = dict(required=False, allow_blank=True, max_length=80, help_text=SCOPE_HELP)


class WidgetCreateSerializer(serializers.Serializer):
    scope = serializers.RegexField(OPTIONAL_SCOPE_PATTERN, **_SCOPE_FIELD)
    type = serializers.ChoiceField(choices=WidgetType.choices)
    title = serializers.CharField(max_length=services.MAX_TITLE, trim_whitespace=False)
    config = ConfigField(required=False, default=dict)
    position = PositionField(required=False)


class WidgetUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=services.MAX_TITLE, trim_whitespace=False, required=False
    )
    config = ConfigField(required=False)
    position = PositionField(required=False)


@extend_schema_field(
    {"type": "object", "properties": {"id": {"type": "integer"}, **_POSITION_SCHEMA["properties"]},
     "required": ["id", "x", "y", "w", "h"], "additionalProperties": False}
)  # fmt: skip
class LayoutItemField(serializers.JSONField):
    pass


class LayoutSerializer(serializers.Serializer):
    scope = serializers.RegexField(OPTIONAL_SCOPE_PATTERN, **_SCOPE_FIELD)
    items = serializers.ListField(child=LayoutItemField(), min_length=1, max_length=100)


class ResetSerializer(serializers.Serializer):
    scope = serializers.RegexField(OPTIONAL_SCOPE_PATTERN, **_SCOPE_FIELD)


class WidgetErrorSerializer(serializers.Serializer):
    """The project's error shape."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class WidgetTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=WidgetType.choices)
    label = serializers.CharField()
    allowed = serializers.BooleanField(help_text="Whether it can be placed in this scope.")
    config_schema = serializers.DictField(help_text="JSON Schema of the type's config.")
    default_config = serializers.DictField()


def _err(text):
    return OpenApiResponse(WidgetErrorSerializer, description=text)


E400 = _err("Bad input: `errors` names each field (`config.<setting>`, `position.<part>`).")
E401 = _err("Not authenticated.")
E403 = _err("This account may not view dashboards, or not this scope.")
E404 = _err("Unknown widget (or another tenant's, or another user's).")
_scope_param = OpenApiParameter(
    "scope", str, pattern=OPTIONAL_SCOPE_PATTERN,
    description=f"The home page's scope. {SCOPE_HELP} Needed for a default-layout widget.",
)  # fmt: skip
TAGS = ["widgets"]


@extend_schema_view(
    list=extend_schema(
        summary="Your home layout of a scope (personal, else shared, else the kind's default)",
        parameters=[_scope_param],
        responses={200: WidgetSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=TAGS,
    ),
    retrieve=extend_schema(
        summary="One widget",
        parameters=[_scope_param],
        responses={200: WidgetSerializer, 400: E400, 401: E401, 403: E403, 404: E404},
        tags=TAGS,
    ),
)
class WidgetViewSet(viewsets.GenericViewSet):
    """Arrange the widgets of a home page; read what each draws."""

    serializer_class = WidgetSerializer
    pagination_class = None
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Widget.objects.none()
        return widget_queryset(self.request.user)

    def _scope(self, text=None):
        if text is None:
            text = self.request.query_params.get("scope")
        return resolve_scope(self.request.user, text or None)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _target(self, pk):
        """(widget, the scope it draws here) for a detail call."""
        widget = widget_get(self.request.user, pk)
        return widget, widget_scope(widget, self._scope())

    def _render(self, widgets, scope, many=False, code=status.HTTP_200_OK):
        data = WidgetSerializer(widgets, many=many, context={"scope": scope}).data
        return Response(data, status=code)

    def list(self, request):
        widget_queryset(request.user)  # 403 before anything else
        scope = self._scope()
        return self._render(layout_for(request.user, scope), scope, many=True)

    def retrieve(self, request, pk=None):
        widget, scope = self._target(pk)
        return self._render(widget, scope)

    @extend_schema(
        summary="Add a widget to your layout of a scope",
        request=WidgetCreateSerializer,
        responses={201: WidgetSerializer, 400: E400, 401: E401, 403: E403},
        tags=TAGS,
    )
    def create(self, request):
        widget_queryset(request.user)
        data = self._input(WidgetCreateSerializer)
        scope = self._scope(data.get("scope") or "")
        widget = services.widget_create(
            actor=request.user, scope=scope, type=data["type"], title=data["title"],
            config=data.get("config"), position=data.get("position"),
        )  # fmt: skip
        return self._render(widget, scope, code=status.HTTP_201_CREATED)

    def _update(self, request, pk):
        data = self._input(WidgetUpdateSerializer)
        widget, scope = self._target(pk)
        changed = services.widget_update(
            actor=request.user, scope=scope, widget_id=widget.pk, title=data.get("title"),
            config=data.get("config"), position=data.get("position"),
        )  # fmt: skip
        return self._render(changed, scope)

    @extend_schema(
        summary="Change a widget of your layout (your copy of the layout is made on the first "
        "change: the answer's id may differ from the one you sent)",
        parameters=[_scope_param],
        request=WidgetUpdateSerializer,
        responses={200: WidgetSerializer, 400: E400, 401: E401, 403: E403, 404: E404},
        tags=TAGS,
    )
    def partial_update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Change a widget of your layout (same as PATCH)",
        parameters=[_scope_param],
        request=WidgetUpdateSerializer,
        responses={200: WidgetSerializer, 400: E400, 401: E401, 403: E403, 404: E404},
        tags=TAGS,
    )
    def update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Remove a widget from your layout",
        parameters=[_scope_param],
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        tags=TAGS,
    )
    def destroy(self, request, pk=None):
        widget, scope = self._target(pk)
        services.widget_delete(actor=request.user, scope=scope, widget_id=widget.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="What the widget draws (the data of the endpoint its type mirrors)",
        parameters=[_scope_param],
        responses={
            200: OpenApiResponse(data_schema(), description="Shape by type."),
            400: E400, 401: E401, 403: E403, 404: E404,
        },
        tags=TAGS,
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def data(self, request, pk=None):
        widget, scope = self._target(pk)
        body = widget_data(
            user=request.user, widget_type=widget.type, scope=scope,
            # Defaults filled in (rows written by the migration or the admin may omit some).
            config=validate_config(widget.type, widget.config, scope.kind),
            cache_id=f"{widget.pk}.{widget.updated_at.timestamp():.6f}",
        )  # fmt: skip
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        summary="Move and resize many widgets of your layout at once (all or none)",
        request=LayoutSerializer,
        responses={200: WidgetSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=TAGS,
    )
    @action(detail=False, methods=["post"])
    def layout(self, request):
        widget_queryset(request.user)
        data = self._input(LayoutSerializer)
        scope = self._scope(data.get("scope") or "")
        widgets = services.widgets_layout_update(
            actor=request.user, scope=scope, items=data["items"]
        )
        return self._render(widgets, scope, many=True)

    @extend_schema(
        summary="Reset your layout of a scope to the default (the shared layout)",
        request=ResetSerializer,
        responses={200: WidgetSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=TAGS,
    )
    @action(detail=False, methods=["post"])
    def reset(self, request):
        widget_queryset(request.user)
        data = self._input(ResetSerializer)
        scope = self._scope(data.get("scope") or "")
        services.widgets_reset(actor=request.user, scope=scope)
        return self._render(layout_for(request.user, scope), scope, many=True)

    @extend_schema(
        summary="The widget catalogue: each type, its config schema, whether this scope can "
        "show it",
        parameters=[_scope_param],
        responses={200: WidgetTypeSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=TAGS,
    )
    @action(detail=False, methods=["get"])
    def types(self, request):
        widget_queryset(request.user)
        scope = self._scope()
        return Response(catalogue(scope.kind))


def catalogue(scope_kind):
    """Every widget type with its config schema, for a scope of `scope_kind`."""
    return [
        {
            "type": value,
            "label": str(label),
            "allowed": type_allowed(value, scope_kind),
            "config_schema": config_schema(value),
            "default_config": default_for_kind(value, scope_kind),
        }
        for value, label in WidgetType.choices
    ]
