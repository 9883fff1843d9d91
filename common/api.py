"""One JSON error shape for the whole API: {"detail", "code"} plus "errors" on 400."""

import json
import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from common import outage
from common.errors import DomainError
from common.views import api_error_body

logger = logging.getLogger(__name__)


def _first_code(codes):
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "invalid"


def _field_errors(detail):
    if isinstance(detail, dict):
        return {
            key: [str(m) for m in value] if isinstance(value, list) else _field_errors(value)
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _renderable(value):
    """`value` with every string UTF-8 encodable: error messages echo input, and a lone
    surrogate from a JSON escape ("\\ud800") would make rendering the answer a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_renderable(k): _renderable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_renderable(v) for v in value]
    return value


def _shaped(response):
    """The final body: renderable, and every 400 names its errors (a body without fields,
    such as a JSON parse error, under non_field_errors)."""
    data = response.data
    if response.status_code == 400 and not data.get("errors"):
        data["errors"] = {"non_field_errors": [data["detail"]]}
    response.data = _renderable(data)
    return response


def _as_json(context):
    """Errors are JSON whatever the client accepts (the browsable API's HTML, `?format=csv`)."""
    request = context.get("request") if context else None
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def exception_handler(exc, context):
    _as_json(context)
    if outage.is_database_error(exc):
        outage.note_failure()
        logger.warning("database unavailable: %s", exc)
        set_rollback()
        return Response(
            api_error_body(503),
            status=503,
            headers={"Retry-After": str(outage.RETRY_AFTER_S), "Cache-Control": "no-store"},
        )
    if isinstance(exc, DomainError):
        body = {"detail": exc.detail, "code": exc.code}
        if exc.errors:
            body["errors"] = exc.errors
        return _shaped(Response(body, status=exc.status_code))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": "Invalid input.",
            "code": _first_code(exc.get_codes()),
            "errors": _field_errors(exc.detail),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
        return _shaped(response)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict):
        code = _first_code(exc.get_codes())
        text = str(detail.get("detail", "Error."))
    elif isinstance(detail, list):
        code, text = _first_code(exc.get_codes()), "; ".join(str(d) for d in detail)
    else:
        code, text = getattr(detail, "code", None) or exc.default_code, str(detail)
    response.data = {"detail": text, "code": code}
    return _shaped(response)


def validation_error(errors, detail="Invalid input.", code="invalid"):
    """A 400 with field errors, raised from views on bad query parameters."""
    return DomainError(detail, code=code, errors=errors)


class CSVRenderer(BaseRenderer):
    """Lets DRF accept `?format=csv` (its format override); the view builds the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        return json.dumps(data)  # an error document


class JSONFirstNegotiation(DefaultContentNegotiation):
    """The view's first renderer when the client asks for JSON or anything (no Accept, */*,
    application/json first); any other Accept, and `?format=`, negotiated as DRF does.

    The dashboard's hot reads answer JSON to clients that take it: DRF's parsing of the
    Accept header per request cost a fifth of a cached read (measured with cProfile)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            accept = request.META.get("HTTP_ACCEPT", "")
            if accept in ("", "*/*") or accept.startswith("application/json"):
                return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
