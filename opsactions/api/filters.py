"""Explicit filters of the ops-action list (bad values are 400s with field errors)."""

import django_filters

from accounts.api.filters import ScopeFilter
from opsactions.choices import ActionStatus, ActionType, RiskLevel
from opsactions.models import OpsAction
from opsactions.selectors import actions_awaiting_approval


class ActionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    type = django_filters.ChoiceFilter(field_name="action_type", choices=ActionType.choices)
    risk = django_filters.ChoiceFilter(field_name="risk_level", choices=RiskLevel.choices)
    target = ScopeFilter(help_text="Scope syntax.")
    # A ChoiceFilter, not a BooleanFilter: "maybe" must be a 400, not silently ignored.
    awaiting_my_approval = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_awaiting"
    )

    class Meta:
        model = OpsAction
        fields = ["status", "type", "risk", "target", "awaiting_my_approval"]

    def filter_awaiting(self, queryset, name, value):
        if value != "true":
            return queryset
        return actions_awaiting_approval(self.request.user, queryset)
