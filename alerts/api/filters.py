"""Filters of the alert list (bad values are 400s with field errors; a scope you may
not read is a 403, as everywhere)."""

import django_filters

from accounts.scope import resolve_scope
from alerts.choices import AlertCategory, AlertSource, AlertStatus, Severity
from alerts.models import Alert
from alerts.selectors import alerts_in_scope


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    category = django_filters.ChoiceFilter(choices=AlertCategory.choices)
    source = django_filters.ChoiceFilter(choices=AlertSource.choices)
    scope = django_filters.CharFilter(method="filter_scope", help_text="Scope syntax.")

    class Meta:
        model = Alert
        fields = ["status", "severity", "category", "source", "scope"]

    def filter_scope(self, queryset, name, value):
        return alerts_in_scope(queryset, resolve_scope(self.request.user, value))
