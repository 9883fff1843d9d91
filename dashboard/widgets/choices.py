"""Closed sets of the widgets: the seven types and the sources of the `list` type."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WidgetType(models.TextChoices):
    CHART_LINE = "chart_line", _("Line chart")
    CHART_BAR = "chart_bar", _("Bar chart")
    GAUGE = "gauge", _("Gauge")
    TABLE = "table", _("Top-N table")
    LIST = "list", _("Latest items")
    MAP = "map", _("Agent map")
    ALERT_LIST = "alert_list", _("Alerts")


class ListSource(models.TextChoices):
    OPS_ACTIONS = "ops_actions", _("Ops actions")
    DEAD_LETTERS = "dead_letters", _("Dead letters")
    TRANSACTIONS = "transactions", _("Transactions")


class TableEntity(models.TextChoices):
    MERCHANTS = "merchants", _("Merchants")
    COUNTRIES = "countries", _("Countries")
    AGENTS = "agents", _("Agents")
    BANKS = "banks", _("Banks")


class MapMarker(models.TextChoices):
    COUNT = "count", _("Number of agents")
    FLOAT = "float", _("Float")
    SALES_24H = "sales_24h", _("Sales (24 h)")
    LOW_FLOAT = "low_float", _("Agents under their float limit")


class GaugeBand(models.TextChoices):
    OK = "ok", _("OK")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


# Key under which opsactions registers the `list` type's ops-actions provider
# (dashboard/widgets/registry.py): the data is owned by an app above the dashboard.
OPS_ACTIONS_PROVIDER = "list.ops_actions"
