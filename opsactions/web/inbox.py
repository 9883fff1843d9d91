"""The ops console's inbox: what awaits my approval, my requests, and every action I may see
(platform staff all, region staff their country's) with filters and pages."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from opsactions import policy
from opsactions.choices import OPEN_STATUSES, ActionStatus, ActionType
from opsactions.selectors import (
    action_queryset,
    actions_awaiting_approval,
    actions_requested_by,
    requestable_types,
)
from opsactions.web.access import ops_page

PAGE_SIZE = 20
SHORT_LIST = 10


def _filters(request):
    """(status, type, page, error) from the query string; a bad value is an error message."""
    status = request.GET.get("status", "")
    action_type = request.GET.get("type", "")
    page = request.GET.get("page", "1")
    if status and status not in ActionStatus.values:
        return status, action_type, 1, _("Unknown status %(value)r.") % {"value": status}
    if action_type and action_type not in ActionType.values:
        return status, action_type, 1, _("Unknown action type %(value)r.") % {"value": action_type}
    if not page.isdigit() or not 0 < int(page) < 10**6:
        return status, action_type, 1, _("Page must be a positive whole number.")
    return status, action_type, int(page), ""


@ops_page
def console(request):
    """The inbox: awaiting my approval, my requests, all visible actions (filtered, paged)."""
    user = request.user
    visible = action_queryset(user)
    status, action_type, page_number, error = _filters(request)
    listed = visible
    if status and not error:
        listed = listed.filter(status=status)
    if action_type and not error:
        listed = listed.filter(action_type=action_type)
    page = Paginator(listed, PAGE_SIZE).get_page(page_number)
    awaiting = actions_awaiting_approval(user, visible)
    mine = actions_requested_by(user, visible)
    can_request = bool(requestable_types(user))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "awaiting": list(awaiting[:SHORT_LIST]),
        "awaiting_count": awaiting.count(),
        "mine": list(mine[:SHORT_LIST]),
        "mine_open_count": mine.filter(status__in=OPEN_STATUSES).count(),
        "pending_count": visible.filter(status=ActionStatus.PENDING_APPROVAL).count(),
        "ready_count": visible.filter(status=ActionStatus.APPROVED).count(),
        "page": page,
        "total": page.paginator.count,
        "status": status,
        "type": action_type,
        "statuses": ActionStatus.choices,
        "types": ActionType.choices,
        "filter_query": query.urlencode(),
        "filtered": bool(status or action_type),
        "can_request": can_request,
        # A superuser without an ops role sees everything and can do nothing: say so.
        "read_only": not can_request and user.role not in policy.ops_roles(),
        "error": error,
    }
    return render(request, "opsactions/console.html", context, status=400 if error else 200)
