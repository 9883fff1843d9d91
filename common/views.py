"""JSON error pages for the API paths (HTML elsewhere), in the project's error shape."""

from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error.", "code": "server_error"}, status=500)
    return server_error(request)
