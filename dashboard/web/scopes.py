"""The staff scope picker's options (an htmx partial)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.scope import is_platform_staff
from dashboard.selectors import known_scopes


@login_required
def scope_options(request):
    """The staff scope picker's options (an htmx partial); tenants have no picker."""
    if not is_platform_staff(request.user):
        return render(request, "partials/scope_options.html", {"options": []}, status=403)
    options = known_scopes(request.GET.get("scope") or request.GET.get("q") or "")
    return render(request, "partials/scope_options.html", {"options": options})
