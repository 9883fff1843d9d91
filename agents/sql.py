"""Raw SQL of the agents app's hot paths, in one place.

Why raw SQL: event ingestion applies batches of thousands of float/sales rows
at up to 30k events/s inside its own transaction, so each batch must be a
couple of multi-row `INSERT ... SELECT FROM unnest(...) ON CONFLICT` statements,
not a query per row; and the map reads (nearby, nearest-k, clusters) must stay
within a few milliseconds on a million agents, which needs exact control of the
index use (GiST with `&&` + `<->` in one index scan; the cluster grid's primary
key) that the ORM does not express.

Row-order note: every upsert feeds rows ordered by agent_id so that two
concurrent batches lock the same agents in the same order (no deadlock).
"""

from django.db import connection

from common.db import bound_cursor

# The float of an agent changes only when the incoming update is newer: later
# occurred_at, ties broken by the higher event_id (a deterministic order
# whatever the arrival order; replaying the same event is a no-op).
_NEWER_FLOAT = (
    "(a.float_updated_at IS NULL OR (EXCLUDED.float_updated_at, EXCLUDED.float_event_id)"
    " > (a.float_updated_at, a.float_event_id))"
)
_NEWER_LOCATION = (
    "(EXCLUDED.location_updated_at IS NOT NULL AND (a.location_updated_at IS NULL OR"
    " (EXCLUDED.location_updated_at, EXCLUDED.location_event_id)"
    " > (a.location_updated_at, a.location_event_id)))"
)

FLOATS_APPLY = f"""
WITH batch AS (
    SELECT * FROM unnest(
        %(agent_id)s::text[], %(balance)s::numeric[], %(currency)s::text[],
        %(occurred_at)s::timestamptz[], %(event_id)s::text[], %(country)s::text[],
        %(region)s::text[], %(city)s::text[], %(lat)s::float8[], %(lon)s::float8[]
    ) AS b(agent_id, balance, currency, occurred_at, event_id, country, region, city, lat, lon)
),
latest AS (
    SELECT DISTINCT ON (agent_id) * FROM batch
    ORDER BY agent_id, occurred_at DESC, event_id DESC
),
located AS (
    SELECT DISTINCT ON (agent_id) agent_id, occurred_at, event_id,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS location
    FROM batch WHERE lat IS NOT NULL AND lon IS NOT NULL
    ORDER BY agent_id, occurred_at DESC, event_id DESC
),
upserted AS (
    INSERT INTO agents_agent AS a (
        agent_id, country, region, city, currency, float_balance, float_updated_at,
        float_event_id, location, location_updated_at, location_event_id,
        low_float_threshold, last_seen_at
    )
    SELECT l.agent_id, l.country, l.region, l.city, l.currency, l.balance, l.occurred_at,
           l.event_id, p.location, p.occurred_at, coalesce(p.event_id, ''),
           %(threshold)s, l.occurred_at
    FROM latest l LEFT JOIN located p USING (agent_id)
    ORDER BY l.agent_id
    ON CONFLICT (agent_id) DO UPDATE SET
        float_balance = CASE WHEN {_NEWER_FLOAT} THEN EXCLUDED.float_balance
                             ELSE a.float_balance END,
        currency = CASE WHEN {_NEWER_FLOAT} THEN EXCLUDED.currency ELSE a.currency END,
        country = CASE WHEN {_NEWER_FLOAT} AND EXCLUDED.country <> 'ZZ'
                       THEN EXCLUDED.country ELSE a.country END,
        region = CASE WHEN {_NEWER_FLOAT} AND EXCLUDED.region <> ''
                      THEN EXCLUDED.region ELSE a.region END,
        city = CASE WHEN {_NEWER_FLOAT} AND EXCLUDED.city <> ''
                    THEN EXCLUDED.city ELSE a.city END,
        float_event_id = CASE WHEN {_NEWER_FLOAT} THEN EXCLUDED.float_event_id
                              ELSE a.float_event_id END,
        float_updated_at = CASE WHEN {_NEWER_FLOAT} THEN EXCLUDED.float_updated_at
                                ELSE a.float_updated_at END,
        location = CASE WHEN {_NEWER_LOCATION} THEN EXCLUDED.location ELSE a.location END,
        location_event_id = CASE WHEN {_NEWER_LOCATION} THEN EXCLUDED.location_event_id
                                 ELSE a.location_event_id END,
        location_updated_at = CASE WHEN {_NEWER_LOCATION} THEN EXCLUDED.location_updated_at
                                   ELSE a.location_updated_at END,
        last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at)
    RETURNING 1
)
INSERT INTO agents_agentfloathour AS h (agent_id, hour, balance, currency, occurred_at, event_id)
SELECT DISTINCT ON (agent_id, date_trunc('hour', occurred_at, 'UTC'))
       agent_id, date_trunc('hour', occurred_at, 'UTC'), balance, currency, occurred_at, event_id
FROM batch
-- Referencing `upserted` makes the agents exist before their history rows.
WHERE (SELECT count(*) FROM upserted) >= 0
ORDER BY agent_id, date_trunc('hour', occurred_at, 'UTC'), occurred_at DESC, event_id DESC
ON CONFLICT (agent_id, hour) DO UPDATE SET
    balance = EXCLUDED.balance, currency = EXCLUDED.currency,
    occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (h.occurred_at, h.event_id)
"""

SALES_APPLY = """
WITH batch AS (
    SELECT * FROM unnest(
        %(agent_id)s::text[], %(bucket)s::timestamptz[], %(currency)s::text[],
        %(cash_in)s::numeric[], %(cash_out)s::numeric[], %(last_seen)s::timestamptz[],
        %(country)s::text[], %(region)s::text[], %(city)s::text[]
    ) AS b(agent_id, bucket, currency, cash_in, cash_out, last_seen, country, region, city)
),
per_agent AS (
    SELECT DISTINCT ON (agent_id) agent_id, currency, country, region, city, last_seen
    FROM batch ORDER BY agent_id, last_seen DESC
),
upserted AS (
    INSERT INTO agents_agent AS a (
        agent_id, country, region, city, currency, low_float_threshold, last_seen_at
    )
    SELECT agent_id, country, region, city, currency, %(threshold)s, last_seen
    FROM per_agent ORDER BY agent_id
    ON CONFLICT (agent_id) DO UPDATE SET
        last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at),
        -- Sales never override what float updates (with their ordering) set;
        -- they only fill what is still unknown.
        currency = CASE WHEN a.currency = '' THEN EXCLUDED.currency ELSE a.currency END,
        country = CASE WHEN a.country = 'ZZ' THEN EXCLUDED.country ELSE a.country END,
        region = CASE WHEN a.region = '' THEN EXCLUDED.region ELSE a.region END,
        city = CASE WHEN a.city = '' THEN EXCLUDED.city ELSE a.city END
    RETURNING 1
)
INSERT INTO agents_agentsaleshour AS s (agent_id, bucket, currency, cash_in_amount, cash_out_amount)
SELECT agent_id, bucket, currency, sum(cash_in), sum(cash_out)
FROM batch
WHERE (SELECT count(*) FROM upserted) >= 0
GROUP BY agent_id, bucket, currency
ORDER BY agent_id, bucket, currency
ON CONFLICT (agent_id, bucket, currency) DO UPDATE SET
    cash_in_amount = s.cash_in_amount + EXCLUDED.cash_in_amount,
    cash_out_amount = s.cash_out_amount + EXCLUDED.cash_out_amount
"""

# Exact recompute of sales_24h for the agents of the batch (their rows are
# already locked by SALES_APPLY in this transaction, so no new lock order).
SALES_24H_FOR_AGENTS = """
UPDATE agents_agent a SET sales_24h = t.total
FROM (
    -- One index range scan of (agent_id, bucket, currency) per agent: a join
    -- over the whole window would read every agent's hours for each batch.
    SELECT a2.agent_id, (
        SELECT coalesce(sum(s.cash_in_amount + s.cash_out_amount), 0)
        FROM agents_agentsaleshour s
        WHERE s.agent_id = a2.agent_id AND s.bucket >= %(start)s AND s.currency = a2.currency
    ) AS total
    FROM agents_agent a2
    WHERE a2.agent_id = ANY(%(ids)s::text[])
) t
WHERE a.agent_id = t.agent_id AND a.sales_24h IS DISTINCT FROM t.total
"""

# Full recompute of sales_24h: every agent that has sales in the window or a non-zero
# figure gets its exact sum again (hourly safety net; one sequential scan).
SALES_24H_REFRESH = """
WITH recent AS (
    SELECT s.agent_id, sum(s.cash_in_amount + s.cash_out_amount) AS total
    FROM agents_agentsaleshour s JOIN agents_agent a2
      ON a2.agent_id = s.agent_id AND a2.currency = s.currency
    WHERE s.bucket >= %(start)s
    GROUP BY s.agent_id
),
touched AS (
    SELECT agent_id FROM agents_agent WHERE sales_24h <> 0
    UNION SELECT agent_id FROM recent
)
UPDATE agents_agent a SET sales_24h = coalesce(r.total, 0)
FROM touched t LEFT JOIN recent r USING (agent_id)
WHERE a.agent_id = t.agent_id AND a.sales_24h IS DISTINCT FROM coalesce(r.total, 0)
"""

# Incremental ageing: when the window start moved from %(prev)s to %(start)s,
# only agents with sales in the buckets that just left the window can change;
# the bucket index finds them without visiting the other agents.
SALES_24H_AGE = """
UPDATE agents_agent a SET sales_24h = t.total
FROM (
    SELECT a2.agent_id,
           coalesce(sum(s.cash_in_amount + s.cash_out_amount)
                    FILTER (WHERE s.bucket >= %(start)s), 0) AS total
    FROM agents_agent a2
    JOIN agents_agentsaleshour s
      ON s.agent_id = a2.agent_id AND s.currency = a2.currency AND s.bucket >= %(prev)s
    WHERE a2.agent_id IN (
        SELECT agent_id FROM agents_agentsaleshour
        WHERE bucket >= %(prev)s AND bucket < %(start)s
    )
    GROUP BY a2.agent_id
) t
WHERE a.agent_id = t.agent_id AND a.sales_24h IS DISTINCT FROM t.total
"""

# ---------------------------------------------------------------- map reads
# Distances are on the mean-radius sphere (use_spheroid = false, R = 6371008.8 m):
# the same figure as `<->` so filter, order and reported distance agree, and
# the same as a haversine check; within 0.5 % of the WGS84 ellipsoid.
# Timestamps leave PostgreSQL as RFC 3339 UTC text: parsing 100 timestamptz
# values per answer into datetimes, only to print them again, was half of the
# client-side CPU of a nearby query.
_RFC3339 = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
AGENT_COLUMNS = f"""
    a.agent_id, ST_X(a.location::geometry) AS lon, ST_Y(a.location::geometry) AS lat,
    a.country, a.region, a.city, a.status, a.currency,
    a.float_balance, to_char(a.float_updated_at AT TIME ZONE 'UTC', {_RFC3339}) AS float_updated_at,
    a.float_limit, a.low_float_threshold,
    to_char(a.last_seen_at AT TIME ZONE 'UTC', {_RFC3339}) AS last_seen_at, a.sales_24h
"""

# ST_DWithin inlines to `location && _ST_Expand(point, r)`; together with the
# `<->` ORDER BY, PostgreSQL runs one GiST index scan that is both bounded by
# the radius box and ordered by distance, so it stops after `limit` rows.
_POINT = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography"

# The inner ORDER BY must be the bare `<->` (no tie-break column) for the
# planner to use the index's ordered scan; the outer query only re-sorts the
# `limit` rows found, adding agent_id as the tie-break.
NEARBY_WITHIN = f"""
SELECT * FROM (
    SELECT {AGENT_COLUMNS}, ST_Distance(a.location, {_POINT}, false) AS distance_m
    FROM agents_agent a
    WHERE ST_DWithin(a.location, {_POINT}, %(radius_m)s, false) {{filters}}
    ORDER BY a.location <-> {_POINT}
    LIMIT %(limit)s
) n ORDER BY distance_m, agent_id
"""

# Nearest-k: the KNN operator alone drives the GiST index in distance order.
NEAREST = f"""
SELECT * FROM (
    SELECT {AGENT_COLUMNS}, ST_Distance(a.location, {_POINT}, false) AS distance_m
    FROM agents_agent a
    WHERE a.location IS NOT NULL {{filters}}
    ORDER BY a.location <-> {_POINT}
    LIMIT %(limit)s
) n ORDER BY distance_m, agent_id
"""

# Individual agents in a viewport (high zoom): the geography `&&` uses the GiST
# index; the exact lon/lat test trims the envelope's geodesic edges.
AGENTS_IN_BBOX = f"""
SELECT {AGENT_COLUMNS}, NULL::float8 AS distance_m
FROM agents_agent a
WHERE a.location && ST_MakeEnvelope(
        %(min_lon)s, %(min_lat)s, %(max_lon)s, %(max_lat)s, 4326)::geography
  AND ST_X(a.location::geometry) BETWEEN %(min_lon)s AND %(max_lon)s
  AND ST_Y(a.location::geometry) BETWEEN %(min_lat)s AND %(max_lat)s {{filters}}
ORDER BY a.agent_id
LIMIT %(limit)s
"""

# Clusters of a viewport from the precomputed grid: a primary-key range scan
# on (level, cx, cy), so the cost depends on the viewport's cells, never on
# the number of agents.
GRID_CELLS = """
SELECT cx, cy, currency, sum(agent_count), sum(low_float_count), sum(float_total),
       sum(sales_24h_total), sum(sum_lon), sum(sum_lat)
FROM agents_agentgridcell
WHERE level = %(level)s AND cx BETWEEN %(cx0)s AND %(cx1)s AND cy BETWEEN %(cy0)s AND %(cy1)s
  {filters}
GROUP BY cx, cy, currency
"""

# Rebuild of the grid: the finest level from the agents, each coarser level
# from the one below (cell >> 1), all in one transaction so readers see either
# the old or the new grid (MVCC), never a half-built one.
GRID_FINEST = """
INSERT INTO agents_agentgridcell (level, cx, cy, country, currency, agent_count,
    low_float_count, float_total, sales_24h_total, sum_lon, sum_lat)
SELECT %(level)s, cx, cy, country, currency, count(*),
       count(*) FILTER (WHERE float_balance < low_float_threshold),
       sum(float_balance), sum(sales_24h), sum(lon), sum(lat)
FROM (
    SELECT country, currency, float_balance, low_float_threshold, sales_24h,
           ST_X(g) AS lon, ST_Y(g) AS lat,
           floor((ST_X(g) + 180.0) / %(size)s)::int AS cx,
           floor((ST_Y(g) + 90.0) / %(size)s)::int AS cy
    FROM (SELECT *, location::geometry AS g FROM agents_agent
          WHERE location IS NOT NULL) x
) y
GROUP BY cx, cy, country, currency
"""

GRID_COARSER = """
INSERT INTO agents_agentgridcell (level, cx, cy, country, currency, agent_count,
    low_float_count, float_total, sales_24h_total, sum_lon, sum_lat)
SELECT %(level)s, cx >> 1, cy >> 1, country, currency, sum(agent_count),
       sum(low_float_count), sum(float_total), sum(sales_24h_total), sum(sum_lon), sum(sum_lat)
FROM agents_agentgridcell
WHERE level = %(level)s + 1
GROUP BY cx >> 1, cy >> 1, country, currency
"""

FLOAT_TOTALS = """
SELECT currency, sum(float_balance) FROM agents_agent
WHERE float_updated_at IS NOT NULL {filters}
GROUP BY currency ORDER BY currency
"""

# Float per country and currency at the end of each bucket (UTC hour or day) of a
# window. Why SQL: the history keeps a row only for the hours an agent's float
# changed, so each bucket's figure carries every agent's last balance forward;
# summing per-bucket changes with a window function does that in one pass over
# the window's rows (plus one index probe per changed agent for the balance it
# started with), where the ORM would need every (agent, bucket) pair in Python.
# Agents whose float last changed before the window are flat over it; agents
# without any float (float_updated_at NULL) are left out, as in FLOAT_TOTALS.
# The country is the agent's current one; a currency change moves the balance
# from the old currency to the new one in the bucket it happens.
FLOAT_HISTORY = """
WITH changed AS (
    SELECT a.agent_id, a.country FROM agents_agent a
    WHERE a.float_updated_at >= %(start)s {filters}
),
points AS (
    (SELECT DISTINCT ON (h.agent_id, date_trunc(%(unit)s, h.hour, 'UTC'))
            h.agent_id, c.country, h.currency, h.balance,
            date_trunc(%(unit)s, h.hour, 'UTC') AS bucket
     FROM changed c JOIN agents_agentfloathour h ON h.agent_id = c.agent_id
     WHERE h.hour >= %(start)s AND h.hour < %(end)s
     ORDER BY h.agent_id, date_trunc(%(unit)s, h.hour, 'UTC'), h.hour DESC)
    UNION ALL
    -- The balance each changed agent started the window with, filed one bucket
    -- before it: its last hour before the window ((agent, hour) unique index).
    SELECT c.agent_id, c.country, p.currency, p.balance, %(before)s::timestamptz
    FROM changed c CROSS JOIN LATERAL (
        SELECT h.currency, h.balance FROM agents_agentfloathour h
        WHERE h.agent_id = c.agent_id AND h.hour < %(start)s
        ORDER BY h.hour DESC LIMIT 1
    ) p
),
steps AS (
    SELECT bucket, country, currency, balance AS amount FROM points
    UNION ALL
    SELECT bucket, country, prev_currency, -prev_balance FROM (
        SELECT bucket, country, lag(currency) OVER w AS prev_currency,
               lag(balance) OVER w AS prev_balance
        FROM points WINDOW w AS (PARTITION BY agent_id ORDER BY bucket)
    ) p WHERE prev_balance IS NOT NULL
),
changes AS (
    SELECT bucket, country, currency, sum(amount) AS amount FROM steps
    GROUP BY bucket, country, currency
),
steady AS (
    SELECT a.country, a.currency, sum(a.float_balance) AS amount FROM agents_agent a
    WHERE a.float_updated_at < %(start)s {filters}
    GROUP BY a.country, a.currency
),
opening AS (
    SELECT country, currency, sum(amount) AS amount FROM (
        SELECT country, currency, amount FROM steady
        UNION ALL
        SELECT country, currency, amount FROM changes WHERE bucket = %(before)s::timestamptz
    ) o GROUP BY country, currency
),
keys AS (
    SELECT country, currency FROM opening
    UNION SELECT country, currency FROM changes
),
buckets AS (
    SELECT generate_series(%(start)s::timestamptz, %(last)s::timestamptz, %(step)s::interval)
        AS bucket
)
SELECT b.bucket, k.country, k.currency,
       coalesce(o.amount, 0) + sum(coalesce(c.amount, 0)) OVER (
           PARTITION BY k.country, k.currency ORDER BY b.bucket) AS total
FROM keys k CROSS JOIN buckets b
LEFT JOIN opening o ON o.country = k.country AND o.currency = k.currency
LEFT JOIN changes c ON c.bucket = b.bucket AND c.country = k.country AND c.currency = k.currency
ORDER BY k.currency, k.country, b.bucket
"""


def execute(sql, params=None):
    """Run one statement on the current connection (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def execute_batch(sql, params):
    """execute() for the ingestion batch statements, with server-side binding: the
    batch's arrays travel as binary parameters instead of being rendered into the
    SQL text value by value (measured: that rendering cost more than the
    statements). Same connection, so same transaction."""
    with bound_cursor() as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.rowcount


def fetchall(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_knn(query, params):
    """Run a nearby/nearest query with the GiST ordered scan forced; rows as dicts.

    The planner underestimates how many agents ST_DWithin matches in a dense
    city and then prefers a bitmap scan that reads every agent in the radius
    box (100k+ at 10 km in Dakar with a million agents) and sorts them, instead
    of the index scan ordered by `<->` that stops after `limit` rows. Bitmap
    scans (and JIT) are turned off for this one statement: SET LOCAL, query and
    RESET go in one round trip (Django's client-side binding cursor sends them
    as one simple query). In autocommit that string is its own implicit
    transaction, so SET LOCAL ends with it; inside the caller's transaction the
    RESETs restore the settings (and a rollback would too). Nothing leaks.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off; "
            + query
            + "; RESET enable_bitmapscan; RESET jit",
            params,
        )
        cursor.nextset()
        cursor.nextset()
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fetch_dicts(query, params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
