"""Reads of the agents app: float totals, nearby search, map clusters, agent detail.

Who may see which agents is decided by `agent_visibility(user)`, built on the
tenant-scope helper accounts.scope; every read below takes its result.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from accounts.choices import ScopeKind
from accounts.scope import is_platform_staff, restrict_queryset, user_scope
from agents import sql
from agents.models import Agent, AgentFloatHour, AgentGridState, AgentSalesHour
from common.errors import NotAllowed

# Grid levels precomputed by agents.tasks.refresh_agent_map: 0 .. GRID_MAX_LEVEL.
GRID_MAX_LEVEL = 14
# From this zoom on, the map shows individual agents (when few enough).
INDIVIDUAL_ZOOM = 15
MAX_ZOOM = 22
# A viewport never spans more than this many cells per axis: a bbox too large
# for its zoom is answered at a coarser level, so the answer stays bounded.
MAX_CELLS_PER_AXIS = 48
MAX_INDIVIDUAL_AGENTS = 500


def cell_size(level):
    """Side of a grid cell at `level`, in degrees (about 64 px at web-map zoom `level`)."""
    return 360.0 / (1 << (level + 2))


# ---------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class AgentVisibility:
    """Which agents a user may see: all, one agent, or one country."""

    agent_id: str | None = None
    country: str | None = None

    def filters(self):
        out = {}
        if self.agent_id is not None:
            out["agent_id"] = self.agent_id
        if self.country is not None:
            out["country"] = self.country
        return out


def agent_visibility(user):
    """The agents `user` may see on the map; NotAllowed (403) for merchant, bank and others.

    Staff (accounts.scope.is_platform_staff) see all; an agent user only itself;
    a region user only its country. Merchant and bank users have no agent data.
    """
    if is_platform_staff(user):
        return AgentVisibility()
    if not (user and user.is_authenticated and user.is_active):
        raise NotAllowed("Authentication required.", code="not_authenticated")
    own = user_scope(user)
    if own.kind == ScopeKind.AGENT:
        return AgentVisibility(agent_id=own.id)
    if own.kind == ScopeKind.REGION:
        return AgentVisibility(country=own.id)
    raise NotAllowed("This account may not view the agent map.", code="scope_forbidden")


def _where(filters, params, alias="a."):
    """SQL conditions for whitelisted filters; values always go in as parameters."""
    parts = []
    if filters.get("agent_id") is not None:
        parts.append(f"{alias}agent_id = %(f_agent_id)s")
        params["f_agent_id"] = filters["agent_id"]
    if filters.get("country") is not None:
        parts.append(f"{alias}country = %(f_country)s")
        params["f_country"] = filters["country"]
    if filters.get("status"):
        parts.append(f"{alias}status = %(f_status)s")
        params["f_status"] = filters["status"]
    if filters.get("low_float"):
        parts.append(f"{alias}float_balance < {alias}low_float_threshold")
    return "".join(f" AND {p}" for p in parts)


# ---------------------------------------------------------------- map rows


@dataclass(slots=True)
class AgentRow:
    """An agent as read by the map queries: light (no model, no GEOS) for speed."""

    agent_id: str
    lon: float
    lat: float
    country: str
    region: str
    city: str
    status: str
    currency: str
    float_balance: Decimal
    float_updated_at: str | None  # RFC 3339 UTC text, straight from SQL
    float_limit: Decimal | None
    low_float_threshold: Decimal
    last_seen_at: str | None
    sales_24h: Decimal
    distance_m: float | None = None

    @property
    def location(self):
        """GeoJSON geometry (rest_framework_gis passes dicts through as they are)."""
        return {"type": "Point", "coordinates": [self.lon, self.lat]}

    @property
    def is_low_float(self):
        return self.float_balance < self.low_float_threshold


# ---------------------------------------------------------------- float totals


def agent_float_totals(scope):
    """Sum of the latest float balance of every agent in `scope` (accounts.scope.Scope),
    per currency: {"XOF": Decimal(...)}. platform: all agents; agent:ID: that agent;
    region:CC: agents of country CC; merchant and bank scopes: {}.
    """
    filters = {}
    if scope.kind == ScopeKind.AGENT:
        filters["agent_id"] = scope.id
    elif scope.kind == ScopeKind.REGION:
        filters["country"] = scope.id
    elif scope.kind != ScopeKind.PLATFORM:
        return {}
    params = {}
    rows = sql.fetchall(sql.FLOAT_TOTALS.format(filters=_where(filters, params, alias="")), params)
    return {currency: Decimal(total) for currency, total in rows if currency}


# ---------------------------------------------------------------- nearby


def agents_nearby(*, lat, lon, radius_m=None, limit=50, filters=None):
    """Agents around (lat, lon), nearest first, each with `distance_m` (metres, sphere).

    With `radius_m`: agents within that distance (ST_DWithin on geography).
    Without: the `limit` nearest agents (KNN `<->`). `filters`: status,
    low_float, plus the visibility keys agent_id and country.
    """
    params = {"lat": float(lat), "lon": float(lon), "limit": int(limit)}
    where = _where(filters or {}, params)
    if radius_m is None:
        query = sql.NEAREST.format(filters=where)
    else:
        params["radius_m"] = float(radius_m)
        query = sql.NEARBY_WITHIN.format(filters=where)
    return [AgentRow(**row) for row in sql.fetch_knn(query, params)]


# ---------------------------------------------------------------- clusters


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def grid_level_for(bbox, zoom):
    """Grid level for a viewport: the zoom's level, coarser when the bbox spans too many cells."""
    level = min(zoom, GRID_MAX_LEVEL)
    span = max(bbox.max_lon - bbox.min_lon, bbox.max_lat - bbox.min_lat)
    while level > 0 and span / cell_size(level) > MAX_CELLS_PER_AXIS:
        level -= 1
    return level


def _cell_index(value, offset, size):
    return math.floor((value + offset) / size)


def agent_clusters(*, bbox, zoom, visibility):
    """Map data for a viewport: clusters from the precomputed grid, or individual agents.

    Returns {"kind": "agents", "agents": [...]} once zoomed in to INDIVIDUAL_ZOOM
    with at most MAX_INDIVIDUAL_AGENTS agents in view (always for an agent user:
    it sees only itself), else {"kind": "clusters", "level", "cell_deg", "clusters",
    "as_of"}. Each cluster: count, low_float_count, float and sales_24h per
    currency (Decimal), centroid (mean lon/lat of its agents).
    """
    filters = visibility.filters()
    if zoom >= INDIVIDUAL_ZOOM or visibility.agent_id is not None:
        params = {
            "min_lon": bbox.min_lon,
            "min_lat": bbox.min_lat,
            "max_lon": bbox.max_lon,
            "max_lat": bbox.max_lat,
            "limit": MAX_INDIVIDUAL_AGENTS + 1,
        }
        query = sql.AGENTS_IN_BBOX.format(filters=_where(filters, params))
        agents = [AgentRow(**row) for row in sql.fetch_dicts(query, params)]
        if len(agents) <= MAX_INDIVIDUAL_AGENTS or visibility.agent_id is not None:
            return {"kind": "agents", "agents": agents[:MAX_INDIVIDUAL_AGENTS]}

    level = grid_level_for(bbox, zoom)
    size = cell_size(level)
    params = {
        "level": level,
        "cx0": _cell_index(bbox.min_lon, 180.0, size),
        "cx1": _cell_index(bbox.max_lon, 180.0, size),
        "cy0": _cell_index(bbox.min_lat, 90.0, size),
        "cy1": _cell_index(bbox.max_lat, 90.0, size),
    }
    where = ""
    if visibility.country is not None:
        where = " AND country = %(f_country)s"
        params["f_country"] = visibility.country
    cells = {}
    for cx, cy, currency, count, low, float_total, sales, sum_lon, sum_lat in sql.fetchall(
        sql.GRID_CELLS.format(filters=where), params
    ):
        cell = cells.setdefault(
            (cx, cy),
            {
                "count": 0,
                "low_float_count": 0,
                "float": {},
                "sales_24h": {},
                "_lon": 0.0,
                "_lat": 0.0,
            },
        )
        cell["count"] += int(count)
        cell["low_float_count"] += int(low)
        cell["_lon"] += sum_lon
        cell["_lat"] += sum_lat
        if currency:
            cell["float"][currency] = cell["float"].get(currency, Decimal(0)) + float_total
            cell["sales_24h"][currency] = cell["sales_24h"].get(currency, Decimal(0)) + sales
    clusters = []
    for (cx, cy), cell in sorted(cells.items()):
        n = cell.pop("count")
        lon, lat = cell.pop("_lon") / n, cell.pop("_lat") / n
        clusters.append({"cell": [cx, cy], "count": n, "lon": lon, "lat": lat, **cell})
    state = AgentGridState.objects.filter(id=1).first()
    return {
        "kind": "clusters",
        "level": level,
        "cell_deg": size,
        "clusters": clusters,
        "as_of": state.refreshed_at if state else None,
    }


# ---------------------------------------------------------------- detail


def agent_detail(*, agent_id, user, hours=48):
    """One agent visible to `user` with its hourly float history and sales; None if not visible."""
    agent_visibility(user)  # 403 for merchant/bank users before any lookup
    if "\x00" in agent_id:  # no id holds a NUL, and PostgreSQL would refuse the query (500)
        return None
    queryset = restrict_queryset(Agent.objects.all(), user, agent="agent_id", country="country")
    agent = queryset.filter(agent_id=agent_id).first()
    if agent is None:
        return None
    since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=hours - 1
    )
    float_history = list(
        AgentFloatHour.objects.filter(agent_id=agent_id, hour__gte=since)
        .order_by("hour")
        .values("hour", "balance", "currency", "occurred_at")
    )
    sales = list(
        AgentSalesHour.objects.filter(agent_id=agent_id, bucket__gte=since)
        .order_by("bucket", "currency")
        .values("bucket", "currency", "cash_in_amount", "cash_out_amount")
    )
    return {"agent": agent, "float_history": float_history, "sales": sales}
