"""Template context of every page: the user's navigation, role and scope."""

from django.conf import settings

from accounts.scope import is_platform_staff, user_scope
from accounts.web.nav import pages_for


def navigation(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {"nav_pages": [], "is_platform_staff": False}
    match = getattr(request, "resolver_match", None)
    return {
        "nav_pages": pages_for(user),
        "nav_current": match.url_name if match else "",
        "is_platform_staff": is_platform_staff(user),
        "user_scope": str(user_scope(user)),
        "map_tile_url": settings.MAP_TILE_URL,
    }
