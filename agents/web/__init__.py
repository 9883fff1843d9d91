"""Server-rendered agent pages: the agent map and the float treasury (one module per page)."""

from django.core.exceptions import PermissionDenied

from agents.selectors import agent_visibility
from common.errors import NotAllowed


def visibility_or_403(user):
    """The agents `user` may see (agents.selectors.agent_visibility); the 403 page otherwise."""
    try:
        return agent_visibility(user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.detail) from exc
