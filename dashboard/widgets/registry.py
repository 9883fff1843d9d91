"""Widget data providers owned by the apps above the dashboard.

The dashboard draws widgets but may not import the apps above it (alerts, SIRA).
Those apps register, in their AppConfig.ready(), a function that answers the data
of the widget types whose data they own (``alert_list`` lives in alerts):

    register_widget_provider("alert_list", alert_list_widget_data)

A provider is called as ``provider(user=..., scope=..., config=..., now=...)``
with the requesting user, the widget's ``accounts.scope.Scope``, its validated
config (a dict) and the current UTC time, and returns a JSON-serializable dict.
It applies the same tenant rules as the endpoint it mirrors.
"""

_PROVIDERS = {}


def register_widget_provider(widget_type, provider):
    """Register the data provider of `widget_type` (the latest registration wins)."""
    _PROVIDERS[widget_type] = provider


def widget_provider(widget_type):
    """The registered provider of `widget_type`, or None when no app owns its data."""
    return _PROVIDERS.get(widget_type)
