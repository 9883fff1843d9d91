"""Error pages: JSON in the project's error shape under /api/, a friendly HTML page elsewhere.

The HTML is rendered without the request's context processors, so a 500 caused
by the database or Redis still renders (no query, no session read). A server
error that is the database being unreachable answers 503 with Retry-After
(see common/outage.py), as the middleware does for views.
"""

import sys
from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from common import outage

_PAGES = {
    400: ("bad_request", lambda: _("Bad request"), lambda: _("The request could not be read.")),
    403: (
        "permission_denied",
        lambda: _("Not allowed"),
        lambda: _("Your account may not open this page."),
    ),
    404: (
        "not_found",
        lambda: _("Page not found"),
        lambda: _("Nothing at this address. Check the link, or go back to your dashboard."),
    ),
    500: (
        "server_error",
        lambda: _("Something went wrong"),
        lambda: _("The error was logged. Try again in a moment."),
    ),
}
_API_DETAIL = {
    400: "Bad request.",
    403: "Not allowed.",
    404: "Not found.",
    500: "Internal error.",
    503: "The database cannot be reached. Try again in a few seconds.",
}
_API_CODE = {status: page[0] for status, page in _PAGES.items()} | {503: "service_unavailable"}


def is_api(request):
    """Under /api (the JSON API): its errors are JSON."""
    return request.path == "/api" or request.path.startswith("/api/")


def api_error_body(status):
    """The JSON error body for a bare HTTP status (no more specific detail known)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    detail = _API_DETAIL.get(status, f"{phrase}.")
    code = _API_CODE.get(status) or phrase.lower().replace(" ", "_").replace("-", "_")
    return {"detail": detail, "code": code}


def unavailable(request):
    """503 with Retry-After: the database cannot be reached (JSON under /api/, else a page)."""
    if is_api(request):
        response = JsonResponse(api_error_body(503), status=503)
    else:
        html = loader.render_to_string(
            "503.html",
            {
                "retry_after": outage.RETRY_AFTER_S,
                "LANGUAGE_CODE": translation.get_language(),
            },
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(outage.RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def _answer(request, status):
    code, title, message = _PAGES[status]
    if is_api(request):
        return JsonResponse({"detail": _API_DETAIL[status], "code": code}, status=status)
    html = loader.render_to_string(
        "error_page.html",
        {
            "status": status,
            "title": title(),
            "message": message(),
            "LANGUAGE_CODE": translation.get_language(),
        },
    )
    return HttpResponse(html, status=status)


def bad_request(request, exception=None):
    return _answer(request, 400)


def permission_denied(request, exception=None):
    return _answer(request, 403)


def not_found(request, exception=None):
    return _answer(request, 404)


def error(request):
    # Called while the exception is being handled: one raised outside a view (a
    # middleware reading the session) that is the database being down is a 503 too.
    if outage.is_database_error(sys.exc_info()[1]):
        outage.note_failure()
        return unavailable(request)
    return _answer(request, 500)
