"""Agents (cash-in/cash-out points) on the map, their float and sales history.

Hot writes (ingestion batches) and the map reads go through raw SQL in
agents/sql.py; these models define the tables and are used everywhere else.
"""

from decimal import Decimal

from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models.functions import Now

from agents.choices import AgentStatus

MONEY = {"max_digits": 24, "decimal_places": 4}


class Agent(models.Model):
    """A cash-in/cash-out agent: where it is, its float, limits and recent sales."""

    agent_id = models.CharField(primary_key=True, max_length=64)
    # Geography (not geometry): distances and radii in metres on the sphere.
    # Its GiST index is the composite (country, location) in Meta, not the
    # default single-column one (see there).
    location = gis_models.PointField(
        geography=True, srid=4326, null=True, blank=True, spatial_index=False
    )
    country = models.CharField(max_length=2, db_default="ZZ", default="ZZ")
    region = models.CharField(max_length=64, blank=True, db_default="", default="")
    city = models.CharField(max_length=64, blank=True, db_default="", default="")
    status = models.CharField(
        max_length=16,
        choices=AgentStatus.choices,
        db_default=AgentStatus.ACTIVE,
        default=AgentStatus.ACTIVE,
    )
    currency = models.CharField(max_length=3, blank=True, db_default="", default="")
    float_balance = models.DecimalField(**MONEY, db_default=Decimal(0), default=Decimal(0))
    # (float_updated_at, float_event_id) orders float updates: the latest wins,
    # equal timestamps are broken by the higher event_id.
    float_updated_at = models.DateTimeField(null=True, blank=True)
    float_event_id = models.CharField(max_length=64, blank=True, db_default="", default="")
    location_updated_at = models.DateTimeField(null=True, blank=True)
    location_event_id = models.CharField(max_length=64, blank=True, db_default="", default="")
    float_limit = models.DecimalField(**MONEY, null=True, blank=True)
    low_float_threshold = models.DecimalField(**MONEY, db_default=Decimal(0), default=Decimal(0))
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Sales (cash-in + cash-out) in the agent's currency over the current UTC
    # hour and the 23 before it; kept by agent_sales_apply for the agents it
    # touches and aged out by agents.tasks.refresh_agent_map.
    sales_24h = models.DecimalField(**MONEY, db_default=Decimal(0), default=Decimal(0))
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        # Few indexes on purpose: float and sales updates change no indexed
        # column, so with free space on the page (fillfactor, migration 0003)
        # they are HOT updates that skip the GiST index entirely.
        indexes = [
            models.Index(fields=["country"], name="agents_agent_country_idx"),
            # GiST over (country, location) (btree_gist): serves ST_DWithin, the
            # KNN `<->` ordering and the bbox query for everyone, and a region
            # user's nearest-k with `country = CC` as an index condition. With a
            # location-only index that query walked every agent of the nearer
            # country first (1.2 s from Dakar for region:CI on 1M agents); on
            # unfiltered queries the composite measured faster too (0.5 vs 1 ms).
            # buffering=on: a (RE)INDEX uses GiST's buffered build, whose pages
            # are tighter boxes than the one-by-one insertion build that `auto`
            # picks below effective_cache_size. On 1M agents the nearby 10 km
            # scan around Abidjan read 435 index pages with the insertion build
            # and 240 with the buffered one (p95 3.4 -> 2.3 ms). Rows inserted
            # later go in one by one: REINDEX CONCURRENTLY restores the layout.
            GistIndex(
                fields=["country", "location"],
                name="agents_agent_country_loc_gist",
                buffering=True,
            ),
        ]
        # Also a partial GiST (location) WHERE status = 'frozen' (migration 0005,
        # raw SQL: Django's PostGIS schema editor drops the condition of an
        # index on a geography field): frozen agents are few, and a
        # `status=frozen` nearby search must not scan every active agent.

    def __str__(self):
        return self.agent_id

    @property
    def is_low_float(self):
        return self.float_balance < self.low_float_threshold


class AgentFloatHour(models.Model):
    """An agent's last float balance within one UTC hour (float history)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="float_hours")
    hour = models.DateTimeField()
    balance = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    event_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "hour"], name="agents_floathour_agent_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="agents_floathour_hour_idx")]


class AgentSalesHour(models.Model):
    """Cash-in and cash-out sums of one agent for one UTC hour and currency."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="sales_hours")
    bucket = models.DateTimeField()
    currency = models.CharField(max_length=3)
    cash_in_amount = models.DecimalField(**MONEY, default=Decimal(0))
    cash_out_amount = models.DecimalField(**MONEY, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "bucket", "currency"], name="agents_saleshour_agent_bucket_cur"
            )
        ]
        # The sales_24h ageing scans recent buckets across all agents.
        indexes = [models.Index(fields=["bucket"], name="agents_saleshour_bucket_idx")]


class AgentGridCell(models.Model):
    """Precomputed map cluster: agents of one grid cell, level, country and currency.

    Level L cuts the world into square cells of 360 / 2**(L+2) degrees (about
    64 px at web-map zoom L). Rebuilt as a whole by agents.tasks.refresh_agent_map.
    """

    pk = models.CompositePrimaryKey("level", "cx", "cy", "country", "currency")
    level = models.SmallIntegerField()
    cx = models.IntegerField()
    cy = models.IntegerField()
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)
    agent_count = models.IntegerField()
    low_float_count = models.IntegerField()
    float_total = models.DecimalField(**MONEY)
    sales_24h_total = models.DecimalField(**MONEY)
    sum_lon = models.FloatField()
    sum_lat = models.FloatField()


class AgentGridState(models.Model):
    """Map upkeep state (one row): last grid rebuild (the clusters' `as_of`), sales ageing."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField()
    duration_ms = models.IntegerField()
    agent_count = models.IntegerField()
    # Window start of the last sales_24h ageing (agents.services.agent_sales_24h_refresh).
    sales_window_start = models.DateTimeField(null=True, blank=True)
