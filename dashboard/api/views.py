import json
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.api.schema import OPTIONAL_SCOPE_PATTERN, SCOPE_HELP
from accounts.revocation import auth_epoch
from accounts.scope import resolve_scope
from common import outage
from common.errors import DomainError
from dashboard.api import identity
from dashboard.health import run_checks
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.snapshots.overview import overview_body
from dashboard.snapshots.timeseries import (
    MAX_RANGE,
    METRICS,
    OPTIONAL_TIME_PATTERN,
    parse_series_query,
    series_csv,
    series_payload,
)

_PING_BODY = b'{"status":"ok","service":"molam-dashboard"}'


@require_GET
def ping(request):
    """Constant answer: the baseline the API benchmark compares against."""
    return HttpResponse(_PING_BODY, content_type="application/json")


_check = inline_serializer(
    "HealthCheck", {"ok": serializers.BooleanField(), "ms": serializers.FloatField()}
)
_health = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "fail"]),
        "failing": serializers.ListField(child=serializers.CharField()),
        "checks": serializers.DictField(child=_check),
    },
)


@extend_schema(
    summary="Health of database, Redis, broker, Celery worker and beat, snapshots",
    responses={200: _health, 503: OpenApiResponse(_health, description="a part is failing")},
    auth=[],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def health(request):
    ok, checks = run_checks()
    body = {
        "status": "ok" if ok else "fail",
        "failing": [name for name, c in checks.items() if not c["ok"]],
        "checks": checks,
    }
    return JsonResponse(body, status=200 if ok else 503)


# ------------------------------------------------------------------ overview

_jwt = JWTAuthentication()
# raw token -> (valid until, user with its permission cache warm). The overview
# is the hot read: caching a checked token for OVERVIEW_AUTH_CACHE_S seconds
# (never past its expiry) per worker process saves the signature check and
# three queries per request. A changed scope takes effect on this endpoint
# within those seconds; a deactivation within OVERVIEW_AUTH_EPOCH_S (1 s), at
# once in the deactivating process (accounts/revocation.py: the auth epoch).
_tokens = {}
_MAX_CACHED_TOKENS = 10000


def _error(status, detail, code, errors=None, headers=None):
    body = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _jwt_user(request):
    """The JWT bearer's user (None without a bearer header); raises on a bad token."""
    header = _jwt.get_header(request)
    if header is None:
        return None
    raw = _jwt.get_raw_token(header)
    if raw is None:
        return None
    now = time.time()
    epoch = auth_epoch()
    hit = _tokens.get(raw)
    if hit is not None and hit[0] > now and epoch is not None and hit[2] == epoch:
        return hit[1]
    token = _jwt.get_validated_token(raw)  # signature and expiry: no database
    try:
        user = _jwt.get_user(token)
        user.has_perm("accounts.view_platform")  # fills the user's permission cache
    except outage.DATABASE_ERRORS:
        # Database down: the identity copy of the last check stands in, if still
        # valid (dashboard/api/identity.py); else 503 (common/middleware.py).
        outage.note_failure()
        user = identity.identity_recall(token.get(jwt_settings.USER_ID_CLAIM))
        if user is None:
            raise
        return user
    except AuthenticationFailed:
        identity.identity_forget(token.get(jwt_settings.USER_ID_CLAIM))
        raise
    outage.note_success()
    identity.identity_remember(user, epoch)
    ttl = settings.OVERVIEW_AUTH_CACHE_S
    if ttl:
        if len(_tokens) > _MAX_CACHED_TOKENS:
            _tokens.clear()
        _tokens[raw] = (min(now + ttl, float(token["exp"])), user, epoch)
    return user


def overview_response(request):
    """The whole overview request, kept off the DRF stack: it must cost about as much as ping."""
    if request.method not in ("GET", "HEAD"):
        return _error(
            405,
            f'Method "{request.method}" not allowed.',
            "method_not_allowed",
            headers={"Allow": "GET, HEAD"},
        )
    try:
        user = _jwt_user(request)
    except (InvalidToken, AuthenticationFailed) as exc:
        detail = (
            exc.detail.get("detail", "Invalid token.")
            if isinstance(exc.detail, dict)
            else exc.detail
        )
        return _error(
            401, str(detail), "token_not_valid", headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    if user is None:
        user = getattr(request, "user", None)  # the session of the server-rendered pages
        if not (user and user.is_authenticated):
            return _error(
                401,
                "Authentication credentials were not provided.",
                "not_authenticated",
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
    period = request.GET.get("period") or SnapshotPeriod.H24
    if period not in SnapshotPeriod.values:
        message = f"Unknown period {period!r}: use today, 24h, 7d or 30d."
        return _error(400, "Invalid input.", "invalid_period", {"period": [message]})
    try:
        scope = resolve_scope(user, request.GET.get("scope"))
    except DomainError as exc:
        return _error(exc.status_code, exc.detail, exc.code, exc.errors)
    body = overview_body(scope, period, degraded=outage.database_down())
    return HttpResponse(body, content_type="application/json")


_scope_param = OpenApiParameter(
    "scope",
    str,
    pattern=OPTIONAL_SCOPE_PATTERN,
    description=f"{SCOPE_HELP} Merchant and agent users always get their own scope; asking "
    "for another is 403.",
)
# What the server checks (dashboard/snapshots/timeseries.py); an empty value is as absent.
_TIME_HELP = (
    "RFC 3339 with a UTC offset (2026-11-27T10:00:00Z), years 1970 to 2100. The range "
    f"`to` - `from` is at most {MAX_RANGE['hour'].days} days hourly, {MAX_RANGE['day'].days} "
    "days daily (400 beyond)."
)


class OverviewView(APIView):
    """Overview of a scope and period (see ../shared/contracts/api.md).

    Declared as an APIView for the OpenAPI schema and the JWT security
    declaration; `dispatch` serves the request without the DRF pipeline
    (pre-serialized bytes from Redis), so the endpoint costs about a ping.
    """

    authentication_classes = [JWTAuthentication]

    @extend_schema(
        operation_id="dashboard_overview",
        summary="Precomputed overview of a scope (figures, float, rates, top lists, sparkline)",
        parameters=[
            _scope_param,
            OpenApiParameter(
                "period",
                str,
                enum=[*SnapshotPeriod.values, ""],
                default="24h",
                description="Empty or absent: 24h.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="the overview document"),
            400: OpenApiResponse(description="bad scope or period"),
            401: OpenApiResponse(description="no or bad token"),
            403: OpenApiResponse(description="scope not allowed"),
        },
    )
    def get(self, request):  # pragma: no cover - dispatch answers
        return overview_response(request)

    def dispatch(self, request, *args, **kwargs):
        return overview_response(request)


# ------------------------------------------------------------------ time series


class CSVRenderer(BaseRenderer):
    """Lets DRF accept `?format=csv` (its format override); the view builds the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        return json.dumps(data)  # an error document


class TimeseriesView(APIView):
    """Zero-filled time series of one metric for one scope, hourly or daily; CSV on request."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="dashboard_metric_timeseries",
        summary="Time series of a metric (counts, money per currency, derived rates)",
        parameters=[
            OpenApiParameter("metric", str, OpenApiParameter.PATH, enum=sorted(METRICS)),
            _scope_param,
            OpenApiParameter(
                "from",
                str,
                pattern=OPTIONAL_TIME_PATTERN,
                description=f"Inclusive. {_TIME_HELP} Absent: `to` minus 24 h (hour) or 30 days.",
            ),
            OpenApiParameter(
                "to",
                str,
                pattern=OPTIONAL_TIME_PATTERN,
                description=f"Exclusive. {_TIME_HELP} Absent: now.",
            ),
            OpenApiParameter(
                "granularity",
                str,
                enum=["hour", "day", ""],
                default="hour",
                description="Empty: hour.",
            ),
            OpenApiParameter(
                "currency",
                str,
                pattern=r"^([A-Z]{3})?$",
                description="ISO 4217 code; required for money metrics.",
            ),
            OpenApiParameter(
                "country", str, pattern=r"^([A-Z]{2})?$", description="ISO 3166-1 alpha-2."
            ),
            OpenApiParameter(
                "region", str, pattern=r"^[^\x00]{0,64}$", description="At most 64 characters."
            ),
            OpenApiParameter(
                "city", str, pattern=r"^[^\x00]{0,64}$", description="At most 64 characters."
            ),
            OpenApiParameter("source", str, enum=["wallet", "connect", ""]),
            OpenApiParameter("format", str, enum=["json", "csv", ""]),
        ],
        responses={
            200: inline_serializer(
                "Timeseries",
                {
                    "metric": serializers.CharField(),
                    "scope": serializers.CharField(),
                    "granularity": serializers.CharField(),
                    "currency": serializers.CharField(allow_null=True),
                    "from": serializers.DateTimeField(),
                    "to": serializers.DateTimeField(),
                    "points": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: OpenApiResponse(description="bad parameter, with field errors"),
            401: OpenApiResponse(description="no or bad token"),
            403: OpenApiResponse(description="scope not allowed"),
            404: OpenApiResponse(description="unknown `format`"),
        },
    )
    def get(self, request, metric):
        scope = resolve_scope(request.user, request.query_params.get("scope"))
        query = parse_series_query(metric=metric, scope=scope, params=request.query_params)
        if request.query_params.get("format") == "csv":
            response = HttpResponse(series_csv(query), content_type="text/csv; charset=utf-8")
            name = f"{metric}-{str(scope).replace(':', '_')}-{query.granularity}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response(series_payload(query))
