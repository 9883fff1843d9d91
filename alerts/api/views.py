"""Alerts API: alerts (list, detail, acknowledge, resolve, manual create, summary),
rules (CRUD, preview), silences and contact points (CRUD, test send)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts.scope import can_view_dashboards
from alerts import services
from alerts.api.filters import AlertFilter
from alerts.api.pagination import AlertPagination
from alerts.api.serializers import (
    AlertDetailSerializer,
    AlertErrorSerializer,
    AlertSerializer,
    CommentSerializer,
    ContactPointSerializer,
    DeliverySerializer,
    ManualAlertSerializer,
    PreviewRequestSerializer,
    PreviewSerializer,
    RuleSerializer,
    SilenceSerializer,
    SummarySerializer,
)
from alerts.models import Alert, AlertRule, ContactPoint, Silence
from alerts.selectors import alert_get, alert_queryset, alert_summary, owned_queryset, series_of
from common.errors import NotAllowed, NotFound

E400 = OpenApiResponse(AlertErrorSerializer, description="Bad input: `errors` names each field.")
E403 = OpenApiResponse(AlertErrorSerializer, description="Not allowed (role or scope).")
E404 = OpenApiResponse(AlertErrorSerializer, description="Unknown (or not visible to you).")
E409 = OpenApiResponse(AlertErrorSerializer, description="Wrong state.")
E401 = OpenApiResponse(AlertErrorSerializer, description="Not authenticated.")
TAGS = ["alerts"]


def _transition_schema(summary):
    return extend_schema(
        summary=summary,
        request=CommentSerializer,
        responses={
            200: AlertDetailSerializer,
            400: E400,
            401: E401,
            403: E403,
            404: E404,
            409: E409,
        },
        tags=TAGS,
    )


def _input(request, serializer_class, **kw):
    serializer = serializer_class(data=request.data, **kw)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="Alerts visible to you (a tenant its own, staff any)",
        responses={200: AlertSerializer(many=True), 400: E400, 403: E403, 401: E401},
        tags=TAGS,
    ),
    retrieve=extend_schema(
        summary="One alert with its events and evaluation history",
        responses={200: AlertDetailSerializer, 404: E404, 401: E401, 403: E403},
        tags=TAGS,
    ),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The alert list, detail, acknowledge, resolve, manual create and summary."""

    serializer_class = AlertSerializer
    parser_classes = [JSONParser]  # JSON bodies only: no form-encoded "empty means absent"
    filterset_class = AlertFilter
    pagination_class = AlertPagination
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        if not can_view_dashboards(self.request.user):
            raise NotAllowed("This account may not view alerts.")
        return alert_queryset(self.request.user).order_by("-last_seen", "-id")

    def get_serializer_class(self):
        return AlertSerializer if self.action == "list" else AlertDetailSerializer

    def get_object(self):
        return alert_get(self.request.user, self.kwargs["pk"])

    def _answer(self, alert, code=status.HTTP_200_OK):
        fresh = alert_get(self.request.user, alert.pk)
        return Response(AlertDetailSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Raise a manual alert (Molam staff)",
        request=ManualAlertSerializer,
        responses={201: AlertDetailSerializer, 400: E400, 403: E403, 401: E401},
        tags=TAGS,
    )
    def create(self, request):
        data = _input(request, ManualAlertSerializer)
        alert = services.alert_create_manual(actor=request.user, **data)
        return self._answer(alert, status.HTTP_201_CREATED)

    def _transition(self, request, service):
        data = _input(request, CommentSerializer)
        alert = service(
            actor=request.user, alert_id=self.get_object().pk, comment=data.get("comment", "")
        )
        return self._answer(alert)

    @_transition_schema("Acknowledge an open alert")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, services.alert_acknowledge)

    @_transition_schema("Resolve a live alert")
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._transition(request, services.alert_resolve)

    @extend_schema(
        summary="Live alerts by severity and category (the seed's dash_alerts_summary)",
        responses={200: SummarySerializer, 400: E400, 403: E403, 401: E401},
        tags=TAGS,
    )
    @action(detail=False, methods=["get"])
    def summary(self, request):
        qs = self.filter_queryset(self.get_queryset())
        return Response(SummarySerializer(alert_summary(request.user, qs)).data)


def _crud_schema(serializer, *, conflict=False, **summaries):
    """The documented answers of a CRUD viewset's actions (summaries by action name)."""
    clash = {409: E409} if conflict else {}
    answers = {
        "list": {200: serializer(many=True), 400: E400},
        "retrieve": {200: serializer, 404: E404},
        "create": {201: serializer, 400: E400, **clash},
        "partial_update": {200: serializer, 400: E400, 404: E404, **clash},
        "destroy": {204: None, 404: E404},
    }
    return extend_schema_view(
        **{
            action_name: extend_schema(
                summary=text,
                responses={**answers[action_name], 401: E401, 403: E403},
                tags=TAGS,
            )
            for action_name, text in summaries.items()
        }
    )


class _OwnedViewSet(viewsets.ModelViewSet):
    """CRUD over objects owned by a tenant (or the platform): another tenant's is a 404."""

    model = None
    parser_classes = [JSONParser]
    lookup_value_regex = r"[0-9]+"
    pagination_class = AlertPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        if not can_view_dashboards(self.request.user):
            raise NotAllowed("This account may not view alerts.")
        return owned_queryset(self.model, self.request.user)

    def get_object(self):
        obj = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if obj is None:
            raise NotFound("Not found.", code="not_found")
        return obj


@_crud_schema(
    RuleSerializer,
    conflict=True,
    list="Alert rules",
    retrieve="One alert rule",
    create="Create a rule (manage_alert_rules)",
    partial_update="Change a rule",
    destroy="Delete a rule (its live alerts are resolved)",
)
class RuleViewSet(_OwnedViewSet):
    """Alert rules: everyone who sees alerts reads them; staff change them."""

    serializer_class = RuleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AlertRule.objects.none()
        if not can_view_dashboards(self.request.user):
            raise NotAllowed("This account may not view alerts.")
        return AlertRule.objects.all()

    def create(self, request):
        data = _input(request, RuleSerializer)
        rule = services.rule_save(actor=request.user, data=data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = _input(request, RuleSerializer, instance=rule, partial=True)
        rule = services.rule_save(actor=request.user, data=data, rule_id=rule.pk)
        return Response(RuleSerializer(rule).data)

    def destroy(self, request, pk=None):
        services.rule_delete(actor=request.user, rule_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Preview a rule: series breaching now, and a backtest over the last days",
        request=PreviewRequestSerializer,
        responses={200: PreviewSerializer, 400: E400, 403: E403, 404: E404, 401: E401},
        tags=TAGS,
    )
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        rule = self.get_object()
        data = _input(request, PreviewRequestSerializer)
        return Response(_preview(rule, data))

    @extend_schema(
        operation_id="dashboard_alerts_rules_preview_new",
        summary="Preview an unsaved rule (same answer as a saved rule's preview)",
        request=RuleSerializer,
        responses={200: PreviewSerializer, 400: E400, 403: E403, 401: E401},
        tags=TAGS,
    )
    @action(detail=False, methods=["post"], url_path="preview")
    def preview_new(self, request):
        data = _input(request, RuleSerializer)
        return Response(_preview(AlertRule(**data), {"days": 7}))


def _preview(rule, data):
    from alerts.evaluation import current_values
    from alerts.selectors import rule_backtest

    now = timezone.now()
    start = now - timedelta(days=data.get("days", 7))
    threshold = data.get("threshold")
    scope = data.get("scope")
    scope = series_of(rule, scope)
    probe = rule
    if scope:
        probe = AlertRule(**{f.name: getattr(rule, f.name) for f in AlertRule._meta.fields})
        probe.scope = scope
    values = current_values(probe, now, threshold=threshold)
    from alerts.evaluation import COMPARE

    breaching = [
        {"scope": s, "value": v, "threshold": lim}
        for s, (v, lim) in sorted(values.items())
        if lim is not None and COMPARE[rule.comparator](v, lim)
    ]
    backtest = rule_backtest(rule, start=start, end=now, threshold=threshold, scope=scope)
    return PreviewSerializer(
        {"now": breaching, "backtest": backtest, "start": start, "end": now}
    ).data


@_crud_schema(
    SilenceSerializer,
    list="Silences (a tenant its own, staff all)",
    retrieve="One silence",
    create="Create a silence",
    destroy="End a silence now (it is kept)",
)
class SilenceViewSet(_OwnedViewSet):
    model = Silence
    serializer_class = SilenceSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def create(self, request):
        data = _input(request, SilenceSerializer)
        silence = services.silence_create(actor=request.user, data=data)
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.silence_expire(actor=request.user, silence_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@_crud_schema(
    ContactPointSerializer,
    list="Contact points (a tenant its own, staff all)",
    retrieve="One contact point",
    create="Create a contact point of your tenant",
    partial_update="Change a contact point",
    destroy="Delete a contact point",
)
class ContactPointViewSet(_OwnedViewSet):
    model = ContactPoint
    serializer_class = ContactPointSerializer

    def create(self, request):
        data = _input(request, ContactPointSerializer)
        cp = services.contact_point_save(actor=request.user, data=data)
        return Response(ContactPointSerializer(cp).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        cp = self.get_object()
        data = _input(request, ContactPointSerializer, instance=cp, partial=True)
        cp = services.contact_point_save(actor=request.user, data=data, contact_point_id=cp.pk)
        return Response(ContactPointSerializer(cp).data)

    def destroy(self, request, pk=None):
        services.contact_point_delete(actor=request.user, contact_point_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a test notification now; answers the delivery (log entry)",
        request=None,
        responses={200: DeliverySerializer, 403: E403, 404: E404, 401: E401},
        tags=TAGS,
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        from alerts.notifications import contact_point_test

        cp = self.get_object()
        services._require_owner(request.user)
        return Response(DeliverySerializer(contact_point_test(cp)).data)
