"""Reads of widgets: which a user may see, and the layout a home page shows.

A layout is resolved, for a user and a scope, as: the user's personal widgets of
that scope, else the scope's shared layout (owner null), else the default layout
of its kind (migration 0011). Visibility goes through accounts.scope: another
tenant's widget, or another user's personal one, is as missing (404).
"""

from django.db.models import Q

from accounts.choices import ScopeKind
from accounts.scope import Scope, can_view_dashboards, is_platform_staff, user_scope
from common.errors import NotAllowed, NotFound, ValidationFailed
from dashboard.models import Widget


def widget_queryset(user):
    """The widgets `user` may see: its own, and the shared and default layouts of the
    scopes it may view (staff: every scope's); 403 for accounts without dashboards."""
    if not can_view_dashboards(user):
        raise NotAllowed("This account may not view dashboards.", code="scope_forbidden")
    mine_or_shared = Q(owner=user) | Q(owner__isnull=True)
    if is_platform_staff(user):
        return Widget.objects.filter(mine_or_shared)
    own = user_scope(user)
    return Widget.objects.filter(
        mine_or_shared, scope_kind=own.kind, scope_id__in=[own.id, ""]
    ).exclude(scope_kind=ScopeKind.PLATFORM)


def widget_get(user, widget_id):
    """One widget `user` may see, or NotFound (invisible looks like missing)."""
    try:
        pk = int(widget_id)
        if not 0 < pk < 2**63:
            raise ValueError
        return widget_queryset(user).get(pk=pk)
    except (Widget.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Widget {widget_id} not found.", code="widget_not_found")


def personal_widgets(user, scope):
    return Widget.objects.filter(owner=user, scope_kind=scope.kind, scope_id=scope.id)


def shared_widgets(scope):
    """The scope's shared layout, else its kind's default layout (never empty-handed)."""
    rows = Widget.objects.filter(owner=None, scope_kind=scope.kind, scope_id=scope.id)
    if not rows.exists() and not scope.is_platform:
        rows = Widget.objects.filter(owner=None, scope_kind=scope.kind, scope_id="")
    return rows


def layout_for(user, scope):
    """The widgets of `user`'s home in `scope` (already checked viewable), in grid order."""
    mine = list(personal_widgets(user, scope))
    return mine if mine else list(shared_widgets(scope))


def widget_scope(widget, requested):
    """The scope a widget draws: its own, or for a kind default the scope it is shown in
    (`requested`, already resolved for the user; must be of the widget's kind)."""
    if not widget.is_kind_default:
        return Scope(widget.scope_kind, widget.scope_id)
    if requested is None or requested.kind != widget.scope_kind:
        message = f"This is the default layout of every {widget.scope_kind}: name one (scope)."
        raise ValidationFailed(message, code="scope_required", errors={"scope": [message]})
    return requested
