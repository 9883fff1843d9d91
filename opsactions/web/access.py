"""The console's guard: signed in, and a role that takes part in ops actions (or a
superuser, read-only unless its role may act). The navigation entry uses the same rule."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from opsactions.selectors import can_view_ops


def ops_page(view):
    """Sign-in required; 403 page for users who may not see ops actions (tenants)."""

    @login_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_view_ops(request.user):
            raise PermissionDenied("Your account may not open the ops console.")
        return view(request, *args, **kwargs)

    return guarded
