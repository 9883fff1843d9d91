"""Filters of the recommendation list (bad values are 400s with field errors)."""

import django_filters

from accounts.api.filters import ScopeFilter
from sira.choices import Priority, RecStatus, RecType
from sira.models import Recommendation


class RecommendationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RecStatus.choices)
    type = django_filters.ChoiceFilter(field_name="rec_type", choices=RecType.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    target = ScopeFilter(help_text="Scope syntax.")
    model = django_filters.CharFilter(
        field_name="model_name", max_length=64, help_text="Model name (baseline, sira-risk...)."
    )
    model_version = django_filters.CharFilter(max_length=64)

    class Meta:
        model = Recommendation
        fields = ["status", "type", "priority", "target", "model", "model_version"]
