"""Reads of the agents app: float totals, nearby search, map clusters, agent detail.

Who may see which agents is decided by `agent_visibility(user)`, built on the
tenant-scope helper accounts.scope; every read below takes its result.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum

from accounts.choices import ScopeKind
from accounts.scope import is_platform_staff, restrict_queryset, user_scope
from agents import sql
from agents.models import Agent, AgentFloatHour, AgentGridCell, AgentGridState, AgentSalesHour
from common.errors import NotAllowed, ValidationFailed

# Grid levels precomputed by agents.tasks.refresh_agent_map: 0 .. GRID_MAX_LEVEL.
GRID_MAX_LEVEL = 14
# From this zoom on, the map shows individual agents (when few enough).
INDIVIDUAL_ZOOM = 15
MAX_ZOOM = 22
# A viewport never spans more than this many cells per axis: a bbox too large
# for its zoom is answered at a coarser level, so the answer stays bounded.
MAX_CELLS_PER_AXIS = 48
MAX_INDIVIDUAL_AGENTS = 500
# "Near" the low-float threshold: a float under 125 % of it is worth watching
# before it actually runs out.
LOW_FLOAT_WATCH_RATIO = Decimal("1.25")


def cell_size(level):
    """Side of a grid cell at `level`, in degrees (about 64 px at web-map zoom `level`)."""
    return 360.0 / (1 << (level + 2))


# ---------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class AgentVisibility:
    """Which agents a user may see: all, one agent, or one country."""

    agent_id: str | None = None
    country: str | None = None

    @classmethod
    def for_scope(cls, scope):
        """The agents of a tenant scope (platform, agent:ID, region:CC); merchant and bank
        scopes hold no agents (ValidationFailed, 400)."""
        if scope.kind == ScopeKind.PLATFORM:
            return cls()
        if scope.kind == ScopeKind.AGENT:
            return cls(agent_id=scope.id)
        if scope.kind == ScopeKind.REGION:
            return cls(country=scope.id)
        message = "Agent data exists for the platform, a country (region:CC) or an agent only."
        raise ValidationFailed(message, code="scope_without_agents", errors={"scope": [message]})

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


def can_view_agents(user):
    """Whether `user` may open the agent pages (the navigation's rule, same as agent_visibility)."""
    try:
        agent_visibility(user)
    except NotAllowed:
        return False
    return True


def where_sql(filters, params, alias="a."):
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
    rows = sql.fetchall(
        sql.FLOAT_TOTALS.format(filters=where_sql(filters, params, alias="")), params
    )
    return {currency: Decimal(total) for currency, total in rows if currency}


def agent_float_by_country(visibility):
    """Float per country and currency of the visible agents that reported a float, largest
    first: agents, float_total, low_float (under their threshold), near_low (under
    LOW_FLOAT_WATCH_RATIO x threshold, low ones included) and sales_24h. Totals match
    agent_float_totals."""
    watch = F("low_float_threshold") * LOW_FLOAT_WATCH_RATIO
    return list(
        Agent.objects.filter(float_updated_at__isnull=False, **visibility.filters())
        .values("country", "currency")
        .annotate(
            agents=Count("agent_id"),
            float_total=Sum("float_balance"),
            low_float=Count("agent_id", filter=Q(float_balance__lt=F("low_float_threshold"))),
            near_low=Count("agent_id", filter=Q(float_balance__lt=watch)),
            sales_24h=Sum("sales_24h"),
        )
        .order_by("currency", "-float_total", "country")
    )


def agent_float_by_city(visibility, *, limit=12):
    """The `limit` cities holding most float among the visible agents (one country's
    breakdown): [{"city", "currency", "agents", "float_total"}], largest first."""
    return list(
        Agent.objects.filter(float_updated_at__isnull=False, **visibility.filters())
        .values("city", "currency")
        .annotate(agents=Count("agent_id"), float_total=Sum("float_balance"))
        .order_by("currency", "-float_total", "city")[:limit]
    )


def agents_low_float(visibility):
    """Visible agents with a float under LOW_FLOAT_WATCH_RATIO x their low-float threshold
    (a queryset), lowest share of the threshold first; `share` = float / threshold.
    Agents that never reported a float are not "low", they are unknown: left out."""
    return (
        Agent.objects.filter(
            float_updated_at__isnull=False, low_float_threshold__gt=0, **visibility.filters()
        )
        .filter(float_balance__lt=F("low_float_threshold") * LOW_FLOAT_WATCH_RATIO)
        .annotate(
            share=ExpressionWrapper(
                F("float_balance") / F("low_float_threshold"),
                output_field=DecimalField(max_digits=30, decimal_places=6),
            )
        )
        .order_by("share", "agent_id")
    )


def agent_float_history(visibility, *, start, buckets, unit="day"):
    """Float per country and currency at the end of each UTC `unit` ("hour" or "day") from
    `start` (aligned to the unit), `buckets` of them: [{"bucket", "country", "currency",
    "total"}] ordered by currency, country, bucket. Each agent counts with its last
    balance at or before the bucket's end (history rows carried forward; agents with
    no change in the window at their current float). Needs the history of `start`'s
    previous hour: keep windows inside AGENTS_HISTORY_RETENTION_DAYS."""
    if unit not in ("hour", "day"):
        raise ValueError(f"unit must be 'hour' or 'day', not {unit!r}")
    # Every agent's history over the window is read: shared for a minute by everyone
    # looking at the same agents and window (the map's own refresh interval).
    key = f"agents:float-history:{visibility.agent_id}:{visibility.country}:{unit}:{buckets}:" + (
        start.isoformat()
    )
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = _float_history(visibility, start=start, buckets=buckets, unit=unit)
    cache.set(key, rows, timeout=settings.AGENTS_MAP_REFRESH_INTERVAL_S)
    return rows


def _float_history(visibility, *, start, buckets, unit):
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    params = {
        "start": start,
        "end": start + step * buckets,
        "last": start + step * (buckets - 1),
        "before": start - step,
        "step": step,
        "unit": unit,
    }
    query = sql.FLOAT_HISTORY.format(filters=where_sql(visibility.filters(), params))
    return [
        {"bucket": bucket, "country": country, "currency": currency, "total": Decimal(total)}
        for bucket, country, currency, total in sql.fetchall(query, params)
    ]


def agents_extent(visibility, *, level=8):
    """Bounding box (BBox) of the grid cells holding `visibility`'s agents at grid `level`
    (cells of about 0.35 degree at level 8: cheap, whatever the number of agents); None
    when there are none. For the map's first view of a country."""
    cells = AgentGridCell.objects.filter(level=level)
    if visibility.country is not None:
        cells = cells.filter(country=visibility.country)
    box = cells.aggregate(cx0=Min("cx"), cx1=Max("cx"), cy0=Min("cy"), cy1=Max("cy"))
    if box["cx0"] is None:
        return None
    size = cell_size(level)
    return BBox(
        box["cx0"] * size - 180.0,
        box["cy0"] * size - 90.0,
        (box["cx1"] + 1) * size - 180.0,
        (box["cy1"] + 1) * size - 90.0,
    )


# ---------------------------------------------------------------- nearby


def agents_nearby(*, lat, lon, radius_m=None, limit=50, filters=None):
    """Agents around (lat, lon), nearest first, each with `distance_m` (metres, sphere).

    With `radius_m`: agents within that distance (ST_DWithin on geography).
    Without: the `limit` nearest agents (KNN `<->`). `filters`: status,
    low_float, plus the visibility keys agent_id and country.
    """
    params = {"lat": float(lat), "lon": float(lon), "limit": int(limit)}
    where = where_sql(filters or {}, params)
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
        query = sql.AGENTS_IN_BBOX.format(filters=where_sql(filters, params))
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
