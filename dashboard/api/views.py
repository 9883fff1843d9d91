from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts.api.schema import OPTIONAL_SCOPE_PATTERN, SCOPE_HELP
from accounts.scope import resolve_scope
from common import outage
from common.api import CSVRenderer, JSONFirstNegotiation, validation_error
from dashboard.api.authentication import CachedJWTAuthentication
from dashboard.api.serializers import ErrorSerializer, OverviewSerializer
from dashboard.health import run_checks
from dashboard.snapshots.choices import SnapshotPeriod
from dashboard.snapshots.overview import overview_body
from dashboard.snapshots.periods import PERIODS
from dashboard.snapshots.series_cache import series_body
from dashboard.snapshots.timeseries import (
    MAX_RANGE,
    METRICS,
    OPTIONAL_TIME_PATTERN,
    parse_series_query,
    series_csv,
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


def _json(body):
    """An answer of stored JSON bytes, sent as they are (DRF passes an HttpResponse
    through; the negotiation has chosen JSON, and errors are rendered by JSONRenderer)."""
    return HttpResponse(body, content_type=JSONRenderer.media_type)


# Session: the server-rendered pages' own scripts read the overview too.
_AUTHENTICATION = [CachedJWTAuthentication, SessionAuthentication]


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
    """Overview of a scope and period (see ../shared/contracts/api.md)."""

    authentication_classes = _AUTHENTICATION
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation
    parser_classes = []  # reads only: no request body
    http_method_names = ["get", "head"]

    @extend_schema(
        operation_id="dashboard_overview",
        summary="Precomputed overview of a scope (figures, float, rates, top lists, sparkline)",
        description="Figures of the last snapshot of the scope, refreshed every minute in the "
        "background. A scope without a stored snapshot yet answers 503 with Retry-After "
        "while its first one is computed.",
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
            200: OverviewSerializer,
            400: OpenApiResponse(ErrorSerializer, description="bad scope or period"),
            401: OpenApiResponse(ErrorSerializer, description="no or bad token"),
            403: OpenApiResponse(ErrorSerializer, description="scope not allowed"),
            503: OpenApiResponse(
                ErrorSerializer,
                description="no snapshot of the scope yet (its computation is queued), or "
                "the database is unreachable and Redis holds none: retry after Retry-After",
            ),
        },
    )
    def get(self, request):
        period = request.query_params.get("period") or SnapshotPeriod.H24
        if period not in PERIODS:
            message = f"Unknown period {period!r}: use today, 24h, 7d or 30d."
            raise validation_error({"period": [message]}, code="invalid_period")
        scope = resolve_scope(request.user, request.query_params.get("scope"))
        body = overview_body(scope, period, degraded=outage.database_down())
        return _json(body)


# ------------------------------------------------------------------ time series


class TimeseriesView(APIView):
    """Zero-filled time series of one metric for one scope, hourly or daily; CSV on request."""

    authentication_classes = _AUTHENTICATION
    renderer_classes = [JSONRenderer, CSVRenderer]
    content_negotiation_class = JSONFirstNegotiation
    parser_classes = []  # reads only: no request body

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
        # The answer's JSON bytes, stored under the scope's generation (exact: see
        # dashboard/snapshots/series_cache.py).
        return _json(series_body(query))
