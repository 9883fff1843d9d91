"""Error pages: JSON in the project's error shape under /api/, a friendly HTML page elsewhere.

The HTML is rendered without the request's context processors, so a 500 caused
by the database or Redis still renders (no query, no session read).
"""

from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

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
_API_DETAIL = {400: "Bad request.", 403: "Not allowed.", 404: "Not found.", 500: "Internal error."}


def _answer(request, status):
    code, title, message = _PAGES[status]
    if request.path.startswith("/api/"):
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
    return _answer(request, 500)
