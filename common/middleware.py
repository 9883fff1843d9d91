"""Answers the API and the pages give when something below them fails.

`ErrorShapeMiddleware`:
- a view that cannot reach the database (a failed connect, a dropped connection)
  answers 503 with Retry-After: JSON in the project's error shape under /api/, a
  friendly HTML page elsewhere (rendered without the database);
- every error under /api/ is JSON: a 4xx/5xx that something else rendered as
  HTML or text (Django's 405 of a plain view, CSRF's 403, a server error page)
  is replaced by {"detail", "code"}, keeping its status and headers (Allow,
  Retry-After, WWW-Authenticate).
"""

import logging

from django.http import JsonResponse

from common import outage
from common.views import api_error_body, is_api, unavailable

logger = logging.getLogger(__name__)

_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "Content-Language")


class ErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self._as_json(response)
        return response

    def process_exception(self, request, exception):
        if not outage.is_database_error(exception):
            return None
        outage.note_failure()
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path, exception
        )
        return unavailable(request)

    @staticmethod
    def _as_json(response):
        answer = JsonResponse(api_error_body(response.status_code), status=response.status_code)
        for name in _KEPT_HEADERS:
            if response.has_header(name):
                answer[name] = response[name]
        return answer
