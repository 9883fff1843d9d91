"""Paging of the ops-action list: limit/offset whose bad values are 400s naming the parameter.

DRF's LimitOffsetPagination falls back to the default on a value it cannot read
(`limit=abc` silently pages by 50) and passes any size of integer to the
database (`limit=10**25` overflowed bigint: a 500).
"""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

_DIGITS = re.compile(r"[0-9]+")


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """limit in 1..max_limit, offset >= 0; anything else is a 400 (never silently ignored)."""

    max_limit = 500

    def _read(self, request, name, default, minimum, maximum=None):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        value = int(raw) if _DIGITS.fullmatch(raw) and len(raw) <= 30 else None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
            raise ValidationError({name: [f"Must be a whole number {bounds}."]})
        return value

    def get_limit(self, request):
        return self._read(
            request, self.limit_query_param, self.default_limit, 1, maximum=self.max_limit
        )

    def get_offset(self, request):
        return self._read(request, self.offset_query_param, 0, 0)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_limit)
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0)
        return parameters
