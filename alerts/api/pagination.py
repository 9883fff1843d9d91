"""Paging of the alerts API: limit 1..500 and offset >= 0, anything else a 400 naming
the parameter (DRF's paginator silently falls back to the default on bad values)."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class AlertPagination(LimitOffsetPagination):
    max_limit = 500

    def _param(self, request, name, default, field):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            return field.run_validation(raw)
        except ValidationError as exc:
            raise ValidationError({name: exc.detail}) from exc

    def get_limit(self, request):
        field = serializers.IntegerField(min_value=1, max_value=self.max_limit)
        return self._param(request, self.limit_query_param, self.default_limit, field)

    def get_offset(self, request):
        field = serializers.IntegerField(min_value=0, max_value=10**9)
        return self._param(request, self.offset_query_param, 0, field)
