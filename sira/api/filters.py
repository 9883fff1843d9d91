"""Filters of the recommendation list (bad values are 400s with field errors)."""

import django_filters
from rest_framework.exceptions import ValidationError

from accounts.scope import Scope, ScopeSyntaxError
from sira.choices import Priority, RecStatus, RecType
from sira.models import Recommendation


class RecommendationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RecStatus.choices)
    type = django_filters.ChoiceFilter(field_name="rec_type", choices=RecType.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    target = django_filters.CharFilter(method="filter_target", help_text="Scope syntax.")
    model = django_filters.CharFilter(
        field_name="model_name", max_length=64, help_text="Model name (baseline, sira-risk...)."
    )
    model_version = django_filters.CharFilter(max_length=64)

    class Meta:
        model = Recommendation
        fields = ["status", "type", "priority", "target", "model", "model_version"]

    def filter_target(self, queryset, name, value):
        try:
            scope = Scope.parse(value, field="target")
        except ScopeSyntaxError as exc:
            raise ValidationError(exc.errors)
        return queryset.filter(target=str(scope))
