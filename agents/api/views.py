"""Agent map endpoints: nearby search, viewport clusters, one agent's detail."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.serializers import (
    AgentFeatureSerializer,
    ClustersParamsSerializer,
    DetailParamsSerializer,
    NearbyParamsSerializer,
    money,
    money_by_currency,
)
from agents.selectors import agent_clusters, agent_detail, agent_visibility, agents_nearby
from common.errors import NotFound

_GEOJSON = OpenApiResponse(description="GeoJSON")
_ERROR = inline_serializer(
    "AgentsError",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)
_ERRORS = {
    400: OpenApiResponse(_ERROR, description="Bad parameter: `errors` names each field."),
    401: OpenApiResponse(_ERROR, description="Not authenticated."),
    403: OpenApiResponse(_ERROR, description="This account may not view the agent map."),
}
_NOT_FOUND = OpenApiResponse(_ERROR, description="Unknown agent (or not visible to you).")


def _params(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AgentsNearbyView(APIView):
    """Agents around a point, nearest first, with their distance in metres."""

    @extend_schema(parameters=[NearbyParamsSerializer], responses={200: _GEOJSON, **_ERRORS})
    def get(self, request):
        visibility = agent_visibility(request.user)  # 403 before any 400
        params = _params(NearbyParamsSerializer, request)
        filters = {
            **visibility.filters(),
            "status": params.get("status"),
            "low_float": params["low_float"],
        }
        agents = agents_nearby(
            lat=params["lat"],
            lon=params["lon"],
            radius_m=params.get("radius_m"),
            limit=params["limit"],
            filters=filters,
        )
        body = AgentFeatureSerializer(agents, many=True).data
        body["center"] = {"lat": params["lat"], "lon": params["lon"]}
        body["radius_m"] = params.get("radius_m")
        body["count"] = len(agents)
        return Response(body)


class AgentsClustersView(APIView):
    """Server-side clusters for a map viewport; individual agents once zoomed in."""

    @extend_schema(parameters=[ClustersParamsSerializer], responses={200: _GEOJSON, **_ERRORS})
    def get(self, request):
        visibility = agent_visibility(request.user)  # 403 before any 400
        params = _params(ClustersParamsSerializer, request)
        result = agent_clusters(bbox=params["bbox"], zoom=params["zoom"], visibility=visibility)
        return Response(clusters_body(result, params["zoom"]))


def clusters_body(result, zoom):
    """The GeoJSON answer of /agents/clusters for an `agent_clusters` result (also the data
    of the dashboard's map widget, which must equal this endpoint)."""
    if result["kind"] == "agents":
        body = AgentFeatureSerializer(result["agents"], many=True).data
        for feature in body["features"]:
            feature["properties"]["kind"] = "agent"
        body.update(mode="agents", zoom=zoom, count=len(result["agents"]))
        return body
    features = [
        {
            "type": "Feature",
            "id": f"{result['level']}/{c['cell'][0]}/{c['cell'][1]}",
            "geometry": {"type": "Point", "coordinates": [c["lon"], c["lat"]]},
            "properties": {
                "kind": "cluster",
                "count": c["count"],
                "low_float_count": c["low_float_count"],
                "float": money_by_currency(c["float"]),
                "sales_24h": money_by_currency(c["sales_24h"]),
            },
        }
        for c in result["clusters"]
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "mode": "clusters",
        "zoom": zoom,
        "level": result["level"],
        "cell_deg": result["cell_deg"],
        "count": sum(c["count"] for c in result["clusters"]),
        "as_of": result["as_of"],
    }


class AgentDetailView(APIView):
    """One agent with its hourly float history and hourly sales (default: last 48 h)."""

    @extend_schema(
        parameters=[DetailParamsSerializer],
        responses={200: _GEOJSON, **_ERRORS, 404: _NOT_FOUND},
    )
    def get(self, request, agent_id):
        params = _params(DetailParamsSerializer, request)
        detail = agent_detail(agent_id=agent_id, user=request.user, hours=params["hours"])
        if detail is None:
            # Also for agents outside the user's scope: existence is not disclosed.
            raise NotFound(f"Agent {agent_id} not found.", code="agent_not_found")
        body = AgentFeatureSerializer(detail["agent"]).data
        properties = body["properties"]
        properties["float_history"] = [
            {
                "hour": row["hour"],
                "balance": money(row["balance"]),
                "currency": row["currency"],
                "occurred_at": row["occurred_at"],
            }
            for row in detail["float_history"]
        ]
        properties["sales"] = [
            {
                "hour": row["bucket"],
                "currency": row["currency"],
                "cash_in_amount": money(row["cash_in_amount"]),
                "cash_out_amount": money(row["cash_out_amount"]),
                "sales": money(row["cash_in_amount"] + row["cash_out_amount"]),
            }
            for row in detail["sales"]
        ]
        return Response(body)
