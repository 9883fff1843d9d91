"""Navigation registry: each app registers its pages here (the upward hook of the layer
rules, like dashboard.health.register_check), so accounts imports none of them.

An entry is shown to a user only when its `allowed(user)` says so, and the page
itself must check the same rule (the menu is a convenience, never the guard).
"""

from collections.abc import Callable
from dataclasses import dataclass

_ENTRIES = {}


@dataclass(frozen=True)
class NavEntry:
    """One page in the navigation."""

    key: str
    label: str  # a lazy translation
    url_name: str
    order: int
    allowed: Callable
    icon: str = ""


def register_page(*, key, label, url_name, order, allowed, icon=""):
    """Add (or replace) a page of the navigation; called from an app's AppConfig.ready()."""
    _ENTRIES[key] = NavEntry(key, label, url_name, order, allowed, icon)


def pages_for(user):
    """The navigation entries `user` may open, in menu order."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    return [e for e in sorted(_ENTRIES.values(), key=lambda e: e.order) if e.allowed(user)]
