"""The agent map page: server clusters of the visible agents, agents when zoomed in, nearby."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from agents.api.serializers import money
from agents.models import Agent
from agents.selectors import INDIVIDUAL_ZOOM, agents_extent
from agents.web import visibility_or_403

# First view for staff (and whenever nothing narrower is known): West Africa,
# from Dakar to Lagos and from the Sahel to the Gulf of Guinea.
WEST_AFRICA = [[4.0, -18.0], [17.0, 9.0]]  # [[south, west], [north, east]]
NEARBY_RADII_M = [1000, 2000, 5000, 10000, 25000, 50000]


@login_required
def map_page(request):
    """The agent map of the signed-in user's visible agents (staff all, region its country,
    agent itself); the data comes from the clusters and nearby endpoints."""
    visibility = visibility_or_403(request.user)
    config = {
        "clustersUrl": reverse("agents-clusters"),
        "nearbyUrl": reverse("agents-nearby"),
        "atlasUrl": static("vendor/world-atlas/countries-50m.json"),
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "bounds": WEST_AFRICA,
        "center": None,
        "individualZoom": INDIVIDUAL_ZOOM,
        "agentOnly": visibility.agent_id is not None,
    }
    own = None
    if visibility.agent_id is not None:
        own = Agent.objects.filter(agent_id=visibility.agent_id).first()
        if own is not None and own.location is not None:
            config["center"] = {"lat": own.location.y, "lon": own.location.x, "zoom": 10}
    elif visibility.country is not None:
        box = agents_extent(visibility)
        if box is not None:
            config["bounds"] = [[box.min_lat, box.min_lon], [box.max_lat, box.max_lon]]
    context = {
        "config": config,
        "visibility": visibility,
        "own": own,
        "own_money": own
        and {
            "float_balance": money(own.float_balance),
            "low_float_threshold": money(own.low_float_threshold),
            "float_limit": money(own.float_limit),
            "sales_24h": money(own.sales_24h),
        },
        "radii": NEARBY_RADII_M,
        "default_radius": 5000,
    }
    return render(request, "agents/map.html", context)
