from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from dashboard.health import run_checks

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
