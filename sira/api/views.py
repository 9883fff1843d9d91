"""SIRA API: intake (sira_service only), list, detail, apply, reject, impact, acceptance."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.choices import Role
from common.errors import NotAllowed, ValidationFailed
from opsactions.api.pagination import StrictLimitOffsetPagination
from opsactions.api.serializers import ActionDetailSerializer, ErrorSerializer
from opsactions.audit import context_from_request
from opsactions.selectors import action_get
from sira import services
from sira.api.filters import RecommendationFilter
from sira.api.serializers import (
    AcceptanceSerializer,
    ImpactSerializer,
    RecommendationDetailSerializer,
    RecommendationInSerializer,
    RecommendationSerializer,
    RejectionSerializer,
)
from sira.choices import Origin
from sira.impact import recommendation_impact
from sira.models import Recommendation
from sira.selectors import acceptance_by_model, recommendation_get, recommendation_queryset

MAX_ITEMS = 500
TAG = ["sira"]


def _err(text):
    return OpenApiResponse(ErrorSerializer, description=text)


E400 = _err("Bad input: `errors` names each field.")
E401 = _err("Not authenticated.")
E403 = _err("Not eligible (role or scope).")
E404 = _err("Unknown recommendation (or not visible to you).")
E409 = _err("Wrong state (not new, action open, past validity, open duplicate action).")


def _publisher_only(user):
    if not (
        user.is_authenticated
        and user.is_active
        and user.role == Role.SIRA_SERVICE
        and user.has_perm("accounts.publish_sira_recommendation")
    ):
        raise NotAllowed("Only the SIRA service publishes recommendations.", code="not_sira")


def intake_items(items, *, origin, context):
    """Take in each item; returns the per-item results and the flattened errors."""
    results, errors = [], {}
    for index, item in enumerate(items):
        external_id = item.get("external_id") if isinstance(item, dict) else None
        try:
            rec, created = services.recommendation_ingest(data=item, origin=origin, context=context)
        except ValidationFailed as exc:
            item_errors = exc.errors or {"non_field_errors": [exc.detail]}
            results.append(
                {
                    "index": index,
                    "external_id": external_id if isinstance(external_id, str) else None,
                    "result": "invalid",
                    "id": None,
                    "errors": item_errors,
                }
            )
            errors.update({f"{index}.{k}": v for k, v in item_errors.items()})
            continue
        results.append(
            {
                "index": index,
                "external_id": rec.external_id,
                "result": "created" if created else "duplicate",
                "id": rec.pk,
            }
        )
    return results, errors


@extend_schema_view(
    list=extend_schema(
        summary="List SIRA recommendations visible to you",
        responses={200: RecommendationSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=TAG,
    ),
    retrieve=extend_schema(
        summary="One recommendation with its audit trail",
        responses={200: RecommendationDetailSerializer, 401: E401, 403: E403, 404: E404},
        tags=TAG,
    ),
)
class RecommendationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Recommendations: SIRA publishes, ops apply (an ops action under quorum) or reject."""

    serializer_class = RecommendationSerializer
    filterset_class = RecommendationFilter
    pagination_class = StrictLimitOffsetPagination
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Recommendation.objects.none()
        return recommendation_queryset(self.request.user)

    def get_object(self):
        return recommendation_get(self.request.user, self.kwargs["pk"])

    def get_serializer_class(self):
        if self.action == "retrieve":
            return RecommendationDetailSerializer
        return RecommendationSerializer

    @extend_schema(
        summary="Publish one recommendation or a list (sira_service only)",
        description=(
            "Idempotent by `external_id`: a redelivered item is answered `duplicate` and "
            "changes nothing. One object: 201 with the recommendation (200 for a duplicate), "
            "400 naming the field. A list: every item's fate in `results`; any invalid item "
            "makes the answer a 400 whose `errors` name `<index>.<field>`, and the valid "
            "items are kept all the same."
        ),
        request=RecommendationInSerializer,
        responses={
            200: RecommendationSerializer,
            201: OpenApiResponse(
                RecommendationSerializer, description="Created (a list: IntakeAnswer)."
            ),
            400: E400,
            401: E401,
            403: E403,
        },
        tags=TAG,
    )
    def create(self, request):
        _publisher_only(request.user)
        context = context_from_request(request)
        data = request.data
        if isinstance(data, list):
            if not data or len(data) > MAX_ITEMS:
                raise ValidationFailed(
                    "Send 1 to 500 recommendations.",
                    errors={"non_field_errors": [f"1 to {MAX_ITEMS} items."]},
                )
            results, errors = intake_items(data, origin=Origin.API, context=context)
            body = {
                "created": sum(r["result"] == "created" for r in results),
                "duplicates": sum(r["result"] == "duplicate" for r in results),
                "invalid": sum(r["result"] == "invalid" for r in results),
                "results": results,
            }
            if errors:
                body = {
                    "detail": "Some recommendations are invalid; the others were taken in.",
                    "code": "invalid",
                    "errors": errors,
                    **body,
                }
                return Response(body, status=status.HTTP_400_BAD_REQUEST)
            return Response(body, status=status.HTTP_201_CREATED)
        rec, created = services.recommendation_ingest(data=data, origin=Origin.API, context=context)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(RecommendationSerializer(rec).data, status=code)

    @extend_schema(
        summary="Apply: request the proposed ops action in your name (never executes it)",
        request=None,
        responses={201: ActionDetailSerializer, 401: E401, 403: E403, 404: E404, 409: E409},
        tags=TAG,
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        target = self.get_object()
        created = services.recommendation_apply(
            actor=request.user, rec_id=target.pk, context=context_from_request(request)
        )
        fresh = action_get(request.user, created.pk)
        return Response(ActionDetailSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reject with a reason",
        request=RejectionSerializer,
        responses={
            200: RecommendationSerializer,
            400: E400,
            401: E401,
            403: E403,
            404: E404,
            409: E409,
        },
        tags=TAG,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        target = self.get_object()
        serializer = RejectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = services.recommendation_reject(
            actor=request.user,
            rec_id=target.pk,
            reason=serializer.validated_data["reason"],
            context=context_from_request(request),
        )
        return Response(RecommendationSerializer(done).data)

    @extend_schema(
        summary="Impact backtest over the last 30 days, beside SIRA's own estimate",
        responses={200: ImpactSerializer, 401: E401, 403: E403, 404: E404},
        tags=TAG,
    )
    @action(detail=True, methods=["get"])
    def impact(self, request, pk=None):
        return Response(recommendation_impact(self.get_object()))


class AcceptanceView(APIView):
    """Acceptance rate per model name and version."""

    @extend_schema(
        summary="Acceptance rate per model name and version",
        responses={200: AcceptanceSerializer(many=True), 401: E401, 403: E403},
        tags=TAG,
    )
    def get(self, request):
        return Response(acceptance_by_model(request.user))
