"""Filters every app's API uses."""

import django_filters
from rest_framework.exceptions import ValidationError

from accounts.scope import Scope, ScopeSyntaxError


class ScopeFilter(django_filters.CharFilter):
    """A field holding a scope (`merchant:m_1`), filtered by the scope's canonical text; a
    value that is not scope syntax is a 400 naming the parameter."""

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        try:
            scope = Scope.parse(value, field=self.field_name)
        except ScopeSyntaxError as exc:
            raise ValidationError(exc.errors)
        return qs.filter(**{self.field_name: str(scope)})
