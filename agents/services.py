"""Writes of the agents app. Ingestion calls the batch functions inside its own
transaction (same connection), so they are fast multi-row statements (agents/sql.py).

Interface (agreed with dashboard ingestion and opsactions executors):
agent_floats_apply, agent_sales_apply, agent_set_status, agent_set_float_limit.
"""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction

from agents import sql
from agents.choices import AgentStatus
from agents.models import Agent
from common.errors import NotFound, ValidationFailed

ZERO = Decimal(0)


def _default_threshold():
    return Decimal(getattr(settings, "AGENTS_DEFAULT_LOW_FLOAT_THRESHOLD", 100000))


def sales_window_start(now=None):
    """First UTC hour counted in "sales over the last 24 h": the current hour and the 23 before."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)


class _Columns:
    """Rows in the shape the batch statements bind them: one list per column (row i is
    index i of every list), the arrays `unnest` reads. Ingestion fills them as it reads
    its events; `of` builds them from dict rows (tests, demo)."""

    __slots__ = ()

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, [])

    def __len__(self):
        return len(self.agent_id)

    def params(self):
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def of(cls, rows):
        columns = cls()
        for row in rows:
            columns.add(**row)
        return columns


class FloatColumns(_Columns):
    """Float updates for FLOATS_APPLY."""

    __slots__ = ("agent_id", "balance", "currency", "occurred_at", "event_id", "country",
                 "region", "city", "lat", "lon")  # fmt: skip

    def add(self, *, agent_id, balance, currency, occurred_at, event_id, country=None,
            region=None, city=None, lat=None, lon=None):  # fmt: skip
        """One update: balance Decimal (may be negative), occurred_at aware, lat/lon None
        when the event had no location (half a position is no position)."""
        if (lat is None) != (lon is None):
            lat = lon = None
        self.agent_id.append(agent_id)
        self.balance.append(Decimal(balance))
        self.currency.append(currency)
        self.occurred_at.append(occurred_at)
        self.event_id.append(str(event_id))
        self.country.append(country or "ZZ")
        self.region.append(region or "")
        self.city.append(city or "")
        self.lat.append(None if lat is None else float(lat))
        self.lon.append(None if lon is None else float(lon))

    def keeping(self, event_ids):
        """The updates whose event is in `event_ids`."""
        kept = FloatColumns()
        for i, event_id in enumerate(self.event_id):
            if event_id in event_ids:
                for name in self.__slots__:
                    getattr(kept, name).append(getattr(self, name)[i])
        return kept


class SalesColumns(_Columns):
    """Cash-in/cash-out sales per agent, UTC hour and currency for SALES_APPLY."""

    __slots__ = ("agent_id", "bucket", "currency", "cash_in", "cash_out", "last_seen",
                 "country", "region", "city")  # fmt: skip

    def add(self, *, agent_id, bucket, currency, last_seen, cash_in_amount=ZERO,
            cash_out_amount=ZERO, country=None, region=None, city=None):  # fmt: skip
        """One group: bucket the UTC hour, last_seen its newest occurred_at; returns its index."""
        self.agent_id.append(agent_id)
        self.bucket.append(bucket)
        self.currency.append(currency)
        self.cash_in.append(Decimal(cash_in_amount))
        self.cash_out.append(Decimal(cash_out_amount))
        self.last_seen.append(last_seen)
        self.country.append(country or "ZZ")
        self.region.append(region or "")
        self.city.append(city or "")
        return len(self.agent_id) - 1


def agent_floats_apply(updates):
    """Apply a batch of float updates (FloatColumns); the latest occurred_at wins per agent.

    Unknown agents are created. Also keeps each agent's last balance per UTC hour.
    Ties on occurred_at go to the higher event_id; the position follows the
    same rule among the updates that carry a location. One SQL statement.
    """
    if not updates:
        return 0
    sql.execute_batch(sql.FLOATS_APPLY, updates.params() | {"threshold": _default_threshold()})
    return len(updates)


def agent_sales_apply(rows, *, now=None):
    """Add cash-in/cash-out sales of a batch (SalesColumns, pre-aggregated per agent, hour
    and currency). Unknown agents are created; the touched agents' sales_24h is
    recomputed exactly (two SQL statements).
    """
    if not rows:
        return 0
    sql.execute_batch(sql.SALES_APPLY, rows.params() | {"threshold": _default_threshold()})
    ids = sorted(set(rows.agent_id))
    sql.execute_batch(sql.SALES_24H_FOR_AGENTS, {"ids": ids, "start": sales_window_start(now)})
    return len(rows)


def agent_set_status(*, agent_id, status):
    """Set an agent's status (AgentStatus: active | frozen); returns the previous status.

    Runs in the caller's transaction (the ops-action executor writes the audit).
    """
    if status not in AgentStatus.values:
        raise ValidationFailed(
            f"Unknown agent status {status!r}.",
            code="invalid_status",
            errors={"status": [f"Must be one of {', '.join(AgentStatus.values)}."]},
        )
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
        if agent is None:
            raise NotFound(f"Agent {agent_id} not found.", code="agent_not_found")
        previous = agent.status
        if previous != status:
            agent.status = status
            agent.save(update_fields=["status"])
    return previous


def agent_set_float_limit(*, agent_id, float_limit):
    """Set an agent's float limit (Decimal, None for no limit); returns the previous limit."""
    if float_limit is not None:
        float_limit = Decimal(float_limit)
        if not float_limit.is_finite() or float_limit < 0:
            raise ValidationFailed(
                "Float limit must be a non-negative amount.",
                code="invalid_float_limit",
                errors={"float_limit": ["Must be a non-negative amount."]},
            )
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
        if agent is None:
            raise NotFound(f"Agent {agent_id} not found.", code="agent_not_found")
        previous = agent.float_limit
        agent.float_limit = float_limit
        agent.save(update_fields=["float_limit"])
    return previous


def agent_sales_24h_refresh(*, now=None, full=False):
    """Age sales_24h out of the window; returns the number of agents updated.

    Sales batches keep the touched agents exact; what changes without a new
    sale is a bucket leaving the window, once per UTC hour. So a run recomputes
    only the agents with sales in the buckets that left since the last run
    (nothing when the window has not moved). `full=True` (hourly, and when no
    previous run is recorded) recomputes every agent with non-zero or recent
    sales, which also repairs agents whose currency changed.
    """
    from agents.models import AgentGridState

    start = sales_window_start(now)
    with transaction.atomic():
        sql.execute("SELECT pg_advisory_xact_lock(hashtext('agents.sales_24h_refresh'))")
        state = AgentGridState.objects.select_for_update().filter(id=1).first()
        previous = state.sales_window_start if state else None
        if full or previous is None or start < previous:
            updated = sql.execute(sql.SALES_24H_REFRESH, {"start": start})
        elif start > previous:
            updated = sql.execute(sql.SALES_24H_AGE, {"start": start, "prev": previous})
        else:
            updated = 0
        if state is None:
            AgentGridState.objects.create(
                id=1,
                refreshed_at=datetime.now(UTC),
                duration_ms=0,
                agent_count=0,
                sales_window_start=start,
            )
        else:
            state.sales_window_start = start
            state.save(update_fields=["sales_window_start"])
    return updated


def agent_map_grid_rebuild():
    """Rebuild the precomputed cluster grid (all levels) from the agents, atomically.

    Readers keep seeing the previous grid until the transaction commits.
    Returns (agent_count, duration_ms).
    """
    from agents.models import AgentGridCell, AgentGridState
    from agents.selectors import GRID_MAX_LEVEL, cell_size

    started = time.monotonic()
    with transaction.atomic():
        # One rebuild at a time (beat may overlap a slow run with the next one).
        sql.execute("SELECT pg_advisory_xact_lock(hashtext('agents.grid_rebuild'))")
        AgentGridCell.objects.all().delete()
        sql.execute(sql.GRID_FINEST, {"level": GRID_MAX_LEVEL, "size": cell_size(GRID_MAX_LEVEL)})
        for level in range(GRID_MAX_LEVEL - 1, -1, -1):
            sql.execute(sql.GRID_COARSER, {"level": level})
        count = (
            AgentGridCell.objects.filter(level=0).aggregate(n=models.Sum("agent_count"))["n"] or 0
        )
        duration_ms = int((time.monotonic() - started) * 1000)
        AgentGridState.objects.update_or_create(
            id=1,
            defaults={
                "refreshed_at": datetime.now(UTC),
                "duration_ms": duration_ms,
                "agent_count": count,
            },
        )
    return count, duration_ms


def agent_map_refresh(*, now=None):
    """Periodic map upkeep: age sales_24h, then rebuild the cluster grid."""
    aged = agent_sales_24h_refresh(now=now)
    count, duration_ms = agent_map_grid_rebuild()
    return {"sales_24h_updated": aged, "agents": count, "grid_ms": duration_ms}


def agent_history_prune(*, now=None):
    """Hourly upkeep: full sales_24h recompute, then drop history past the retention."""
    from agents.models import AgentFloatHour, AgentSalesHour

    agent_sales_24h_refresh(now=now, full=True)
    days = getattr(settings, "AGENTS_HISTORY_RETENTION_DAYS", 90)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    floats, _ = AgentFloatHour.objects.filter(hour__lt=cutoff).delete()
    sales, _ = AgentSalesHour.objects.filter(bucket__lt=cutoff).delete()
    return floats + sales
