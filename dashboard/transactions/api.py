"""API of the stored transactions: list (keyset pages, CSV), one event, a drill-down sum."""

import csv
import io

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.schema import OPTIONAL_SCOPE_PATTERN, SCOPE_HELP
from accounts.scope import is_platform_staff, resolve_scope
from common.api import CSVRenderer
from dashboard.choices import EventOutcome, EventType, Source
from dashboard.snapshots.compute import iso, money
from dashboard.transactions import drilldown, selectors


class TransactionSerializer(serializers.Serializer):
    """One stored event as the API shows it (money as exact decimal strings)."""

    event_id = serializers.CharField()
    type = serializers.ChoiceField(choices=EventType.choices)
    status = serializers.ChoiceField(choices=EventOutcome.choices)
    source = serializers.ChoiceField(choices=Source.choices)
    occurred_at = serializers.DateTimeField()
    currency = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True)
    fee = serializers.CharField(allow_null=True)
    cost = serializers.CharField(
        allow_null=True, required=False, help_text="Platform staff only (what partners cost)."
    )
    balance = serializers.CharField(allow_null=True)
    merchant_id = serializers.CharField(allow_null=True)
    agent_id = serializers.CharField(allow_null=True)
    bank_id = serializers.CharField(allow_null=True)
    country = serializers.CharField()
    region = serializers.CharField()
    city = serializers.CharField()


class TransactionPageSerializer(serializers.Serializer):
    """A keyset page: `next` is the cursor of the following page (null on the last)."""

    scope = serializers.CharField()
    next = serializers.CharField(allow_null=True)
    results = TransactionSerializer(many=True)


class DrilldownPartSerializer(serializers.Serializer):
    """Events counted, and for a money figure the sum per currency."""

    count = serializers.IntegerField()
    amounts = serializers.DictField(child=serializers.CharField(), required=False)


class DrilldownSerializer(serializers.Serializer):
    """A figure recomputed from the events its drill-down lists."""

    figure = serializers.CharField()
    scope = serializers.CharField()
    types = serializers.ListField(child=serializers.CharField())
    field = serializers.CharField(allow_null=True, help_text="What is summed (null: counted).")
    count = serializers.IntegerField(required=False)
    amounts = serializers.DictField(child=serializers.CharField(), required=False)
    numerator = DrilldownPartSerializer(required=False)
    denominator = DrilldownPartSerializer(required=False)


_MONEY = ("amount", "fee", "cost", "balance")


def public_row(row, *, staff):
    """A selector row -> the API's JSON object (cost shown to platform staff only)."""
    out = dict(row)
    out["occurred_at"] = iso(row["occurred_at"])
    for name in _MONEY:
        value = row[name]
        out[name] = None if value is None else money(value)
    if not staff:
        out.pop("cost")
    return out


_TIME = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+\- ][0-9]{2}:[0-9]{2}))?$"  # noqa: E501
FILTER_PARAMETERS = [
    OpenApiParameter(
        "scope", str, pattern=OPTIONAL_SCOPE_PATTERN,
        description=f"{SCOPE_HELP} Tenant users get their own scope; another is 403.",
    ),
    OpenApiParameter("from", str, pattern=_TIME, description="Inclusive (RFC 3339). Absent: "
                     "30 days before `to` (or now), unless `event_id` is given."),
    OpenApiParameter("to", str, pattern=_TIME, description="Exclusive (RFC 3339)."),
    OpenApiParameter("type", str, many=True, enum=EventType.values,
                     description="Repeat or comma-separate for several."),
    OpenApiParameter("figure", str, enum=list(drilldown.FIGURES),
                     description="Only the event types that make this figure (drill-down)."),
    OpenApiParameter("source", str, enum=[*Source.values, ""]),
    OpenApiParameter("currency", str, pattern=r"^([A-Z]{3})?$"),
    OpenApiParameter("country", str, pattern=r"^([A-Z]{2})?$"),
    OpenApiParameter("region", str, pattern=r"^[^\x00]{0,64}$"),
    OpenApiParameter("city", str, pattern=r"^[^\x00]{0,64}$"),
    OpenApiParameter("amount_min", str, description="Decimal; inclusive."),
    OpenApiParameter("amount_max", str, description="Decimal; inclusive."),
    OpenApiParameter("event_id", str, pattern=r"^[^\x00]{0,64}$"),
    *(OpenApiParameter(name, str, pattern=r"^[^\x00]{0,64}$", description="Within the scope.")
      for name in ("merchant_id", "agent_id", "bank_id")),
]  # fmt: skip
_ERRORS = {
    400: OpenApiResponse(description="bad parameter, with field errors"),
    401: OpenApiResponse(description="no or bad token"),
    403: OpenApiResponse(description="scope not allowed"),
}


class TransactionListView(APIView):
    """The scope's stored events, newest first, in keyset pages; the whole range as CSV."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="dashboard_transactions_list",
        summary="Stored events of a scope (filters, keyset pages, CSV export)",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("cursor", str, description="`next` of the previous page."),
            OpenApiParameter("limit", int, description="Page size (default 50)."),
            OpenApiParameter(
                "format",
                str,
                enum=["json", "csv", ""],
                description="csv: every matching row, streamed (no paging).",
            ),
        ],  # fmt: skip
        responses={
            200: TransactionPageSerializer,
            404: OpenApiResponse(description="unknown `format`"),
            **_ERRORS,
        },
    )
    def get(self, request):
        scope = resolve_scope(request.user, request.query_params.get("scope"))
        staff = is_platform_staff(request.user)
        csv_export = request.query_params.get("format") == "csv"
        query = selectors.parse_query(scope, request.query_params, paged=not csv_export)
        if csv_export:
            response = StreamingHttpResponse(
                _csv_lines(query, staff=staff), content_type="text/csv; charset=utf-8"
            )
            name = f"transactions-{str(scope).replace(':', '_')}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        rows, cursor = selectors.transactions_page(query)
        return Response(
            {
                "scope": str(scope),
                "next": cursor,
                "results": [public_row(r, staff=staff) for r in rows],
            }
        )


def _csv_lines(query, *, staff):
    """The CSV body, a few thousand rows per chunk (selectors.transactions_iter)."""
    fields = [f for f in TransactionSerializer().fields if staff or f != "cost"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in selectors.transactions_iter(query):
        writer.writerow(public_row(row, staff=staff))
        n += 1
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class TransactionDetailView(APIView):
    """One stored event of the caller's scope (another tenant's: 404)."""

    @extend_schema(
        operation_id="dashboard_transactions_detail",
        summary="One stored event",
        parameters=[FILTER_PARAMETERS[0]],
        responses={
            200: TransactionSerializer,
            404: OpenApiResponse(description="no such event in the scope"),
            **_ERRORS,
        },
    )
    def get(self, request, event_id):
        scope = resolve_scope(request.user, request.query_params.get("scope"))
        row = selectors.transaction_get(scope, event_id)
        return Response(public_row(row, staff=is_platform_staff(request.user)))


class DrilldownView(APIView):
    """A figure recomputed from exactly the events its drill-down lists."""

    @extend_schema(
        operation_id="dashboard_transactions_drilldown",
        summary="A figure as the sum of its listed events (scope, range, cuts)",
        parameters=FILTER_PARAMETERS,
        responses={200: DrilldownSerializer, **_ERRORS},
    )
    def get(self, request):
        scope = resolve_scope(request.user, request.query_params.get("scope"))
        query = selectors.parse_query(scope, request.query_params, paged=False)
        if query.figure is None:
            from common.errors import ValidationFailed

            raise ValidationFailed("Invalid input.", errors={"figure": ["A figure is required."]})
        parts = drilldown.FIGURES[query.figure]
        body = {
            "figure": query.figure,
            "scope": str(scope),
            "from": iso(query.frm),
            "to": iso(query.to),
            "types": list(drilldown.figure_types(query.figure)),
            "field": _field(parts[0].expr) if len(parts) == 1 else None,
        }
        body.update(selectors.drilldown_sum(query))
        return Response(body)


def _field(expr):
    return {None: None, drilldown.AMOUNT: "amount", drilldown.FEE: "fee",
            drilldown.REVENUE: "fee - cost"}[expr]  # fmt: skip
