"""Shared helpers for the agents tests: an independent haversine and agent placement."""

import math
from datetime import UTC, datetime
from decimal import Decimal

from agents.services import FloatColumns, agent_floats_apply

EARTH_RADIUS_M = 6371008.8  # mean radius, as PostGIS's sphere
DAKAR = (14.7167, -17.4677)
THIES = (14.7910, -16.9256)
ABIDJAN = (5.3600, -4.0083)
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def offset_north(lat, lon, metres):
    """The point `metres` due north of (lat, lon) on the sphere."""
    return lat + math.degrees(metres / EARTH_RADIUS_M), lon


def place(agent_id, lat, lon, balance="500000", *, country="SN", currency="XOF", at=T0):
    agent_floats_apply(
        FloatColumns.of(
            [
                {
                    "agent_id": agent_id,
                    "balance": Decimal(balance),
                    "currency": currency,
                    "occurred_at": at,
                    "country": country,
                    "region": "",
                    "city": "",
                    "lat": lat,
                    "lon": lon,
                    "event_id": f"e-{agent_id}",
                }
            ]
        )
    )
