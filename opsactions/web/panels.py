"""Panels that apps above opsactions add to the console's action detail (opsactions may not
import them): register fn(request, action) -> HTML string ("" for nothing) in ready()."""

_PANELS = {}


def register_detail_panel(key, fn):
    """Add (or replace) a panel of the action detail page."""
    _PANELS[key] = fn


def detail_panels(request, action):
    """The rendered panels for this action, in registration order (empty ones left out)."""
    return [html for fn in _PANELS.values() if (html := fn(request, action))]
