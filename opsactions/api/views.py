"""Ops actions API: each view parses input, calls one service, renders the action."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.schema import OPTIONAL_SCOPE_PATTERN, SCOPE_HELP
from opsactions import services
from opsactions.api.filters import ActionFilter
from opsactions.api.pagination import StrictLimitOffsetPagination
from opsactions.api.serializers import (
    ActionCreateSerializer,
    ActionDetailSerializer,
    ActionSerializer,
    ApproveSerializer,
    CancelSerializer,
    ErrorSerializer,
    ReasonSerializer,
)
from opsactions.audit import context_from_request
from opsactions.choices import ActionStatus
from opsactions.models import OpsAction
from opsactions.selectors import action_get, action_queryset, action_related_load


def _err(text):
    return OpenApiResponse(ErrorSerializer, description=text)


E400 = _err("Bad input: `errors` names each field.")
E401 = _err("Not authenticated.")
E403 = _err("Not eligible (role, scope, self-approval, not the requester).")
E404 = _err("Unknown action (or not visible to you).")
E409 = _err("Wrong state (already voted, expired, rejected, not approved, open duplicate...).")


def _transition_schema(summary, request=None):
    return extend_schema(
        summary=summary,
        request=request,
        responses={
            200: ActionDetailSerializer,
            400: E400,
            401: E401,
            403: E403,
            404: E404,
            409: E409,
        },
        tags=["ops actions"],
    )


@extend_schema_view(
    list=extend_schema(
        summary="List ops actions visible to you",
        parameters=[
            OpenApiParameter(
                "target",
                str,
                pattern=OPTIONAL_SCOPE_PATTERN,
                description=f"Actions on this target. {SCOPE_HELP.split(' Empty')[0]}",
            )
        ],
        responses={200: ActionSerializer(many=True), 400: E400, 401: E401, 403: E403},
        tags=["ops actions"],
    ),
    retrieve=extend_schema(
        summary="One ops action with its approvals and audit trail",
        responses={200: ActionDetailSerializer, 401: E401, 403: E403, 404: E404},
        tags=["ops actions"],
    ),
)
class OpsActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Request, vote on, execute, cancel and roll back ops actions."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    pagination_class = StrictLimitOffsetPagination
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return OpsAction.objects.none()
        return action_queryset(self.request.user)

    def get_object(self):
        return action_get(self.request.user, self.kwargs["pk"])

    def _visible_pk(self):
        """The action's id once `user` may see it (404 otherwise): the one read of the row
        before the service locks it; the answer is the service's own object."""
        return action_get(self.request.user, self.kwargs["pk"], related=False).pk

    def get_serializer_class(self):
        if self.action == "list":
            return ActionSerializer
        return ActionDetailSerializer

    def _answer(self, action_obj, code=status.HTTP_200_OK):
        # The service's locked-and-changed object is the answer: no second read of the row.
        action_related_load(action_obj)
        return Response(ActionDetailSerializer(action_obj).data, status=code)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Request an ops action",
        request=ActionCreateSerializer,
        responses={201: ActionDetailSerializer, 400: E400, 401: E401, 403: E403, 409: E409},
        tags=["ops actions"],
    )
    def create(self, request):
        data = self._input(ActionCreateSerializer)
        created = services.action_create(
            actor=request.user,
            action_type=data["action_type"],
            target=data["target"],
            params=data.get("params") or {},
            reason=data["reason"],
            expires_after=data.get("expires_after") or None,
            context=context_from_request(request),
        )
        return self._answer(created, status.HTTP_201_CREATED)

    @_transition_schema("Approve (one vote per approver, never your own)", ApproveSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = self._input(ApproveSerializer)
        action_id = self._visible_pk()
        done = services.action_approve(
            actor=request.user,
            action_id=action_id,
            comment=data.get("comment", ""),
            params_hash=data.get("params_hash"),
            context=context_from_request(request),
        )
        return self._answer(done)

    @_transition_schema("Reject (a single eligible rejection is a veto)", ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = self._input(ReasonSerializer)
        action_id = self._visible_pk()
        done = services.action_reject(
            actor=request.user,
            action_id=action_id,
            reason=data["reason"],
            context=context_from_request(request),
        )
        return self._answer(done)

    @_transition_schema("Execute an approved action (once)")
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        action_id = self._visible_pk()
        done = services.action_execute(
            actor=request.user, action_id=action_id, context=context_from_request(request)
        )
        return self._answer(done)

    @_transition_schema("Cancel your own action before execution", CancelSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = self._input(CancelSerializer)
        action_id = self._visible_pk()
        done = services.action_cancel(
            actor=request.user,
            action_id=action_id,
            reason=data.get("reason", ""),
            context=context_from_request(request),
        )
        return self._answer(done)

    @extend_schema(
        summary="Roll back an executed action (two different eligible people)",
        description=(
            "The first call records a rollback request (`rollback_request` in the answer) and "
            "answers 202 with the action still `executed`; a call by another eligible person "
            "performs the rollback and answers 200 with the action `rolled_back`. The same "
            "person calling twice gets 409 `already_requested`."
        ),
        request=ReasonSerializer,
        responses={
            200: OpenApiResponse(ActionDetailSerializer, description="Rolled back."),
            202: OpenApiResponse(
                ActionDetailSerializer,
                description="Rollback requested; a second eligible person must confirm it.",
            ),
            400: E400,
            401: E401,
            403: E403,
            404: E404,
            409: E409,
        },
        tags=["ops actions"],
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        data = self._input(ReasonSerializer)
        action_id = self._visible_pk()
        done = services.action_rollback(
            actor=request.user,
            action_id=action_id,
            reason=data["reason"],
            context=context_from_request(request),
        )
        if done.status == ActionStatus.ROLLED_BACK:
            return self._answer(done)
        return self._answer(done, status.HTTP_202_ACCEPTED)
