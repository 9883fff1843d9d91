"""Raw SQL of the snapshot area: rollup maintenance and the time-series reads.

Why raw SQL: these are the hot paths of the dashboard (the time series must
answer in a few milliseconds over 10M+ aggregate rows, the refresh rewrites
rollup ranges with INSERT ... SELECT ... GROUP BY). The ORM cannot express
the partition-pruned UNION with the dirty-range correction below.

Exactness: a rollup row may lag the aggregates only inside the hour range of
a change still pending in dashboard_dirty_change (ingestion inserts the change
in the same transaction that changes the aggregates; the refresh deletes the
changes it claimed in the same transaction that rewrites the rollup). Every
read below therefore takes the rollup outside the scope's pending range and the
raw aggregates inside it, in ONE statement (one MVCC snapshot), so it always
equals the raw aggregates.
"""

import orjson

from dashboard.choices import COUNT_FIGURES, MONEY_FIGURES

FIGURES = COUNT_FIGURES + MONEY_FIGURES
_COLS = ", ".join(FIGURES)
# sum(bigint) is numeric in PostgreSQL: counts are cast back to bigint (Python int).
_SUMS = ", ".join(f"sum({c})::bigint" if c in COUNT_FIGURES else f"sum({c})" for c in FIGURES)

# The rollups carry last_event_at (newest event time of the row) beside the figures.
_COLS_T = _COLS + ", last_event_at"
_SUMS_T = _SUMS + ", max(last_event_at)"

HOURLY = "dashboard_scope_hourly"
DAILY = "dashboard_scope_daily"
RAW = "dashboard_hourly_aggregate"


def raw_scope_filter(kind, ident, alias="a"):
    """SQL + params selecting the raw aggregate rows of a scope (region = platform rows of CC)."""
    if kind == "region":
        return (
            f"{alias}.scope_kind = 'platform' AND {alias}.scope_id = '' AND {alias}.country = %s",
            [ident],
        )
    return f"{alias}.scope_kind = %s AND {alias}.scope_id = %s", [kind, ident]


# ------------------------------------------------------------------ maintenance


DIRTY = "dashboard_dirty_change"


def claim_dirty(cursor, kind, ident):
    """Delete the scope's pending changes visible now; returns (min_bucket, max_bucket, count,
    claimed_at).

    Called first in the transaction that rewrites the rollups and writes the
    snapshots, under the scope's advisory lock. One statement: it deletes
    exactly the rows its snapshot sees (a batch committing meanwhile keeps its
    row), and until this transaction commits every other reader still sees
    them. `claimed_at` (database clock, read after the statement's snapshot)
    is the time the snapshot is known current from, for changes that make
    figures stale (dashboard/snapshots/cache.py). min/max are None when only
    range-less changes (FX rates) or none were pending.
    """
    cursor.execute(
        f"WITH d AS (DELETE FROM {DIRTY} WHERE scope_kind = %s AND scope_id = %s "
        "RETURNING min_bucket, max_bucket) "
        "SELECT min(min_bucket), max(max_bucket), count(*), clock_timestamp() FROM d",
        [kind, ident],
    )
    return cursor.fetchone()


def dirty_scopes(cursor):
    """Every (scope_kind, scope_id) with a pending change."""
    cursor.execute(f"SELECT DISTINCT scope_kind, scope_id FROM {DIRTY}")
    return cursor.fetchall()


def corrections_pending(cursor, kind, ident):
    """(newest `marked_at` of the scope's pending changes that make figures stale, or None;
    database now)."""
    cursor.execute(
        f"SELECT (SELECT max(marked_at) FROM {DIRTY} WHERE scope_kind = %s AND scope_id = %s "
        "AND reason <> 'events'), clock_timestamp()",
        [kind, ident],
    )
    return cursor.fetchone()


def fx_changes_mark(cursor, ranges):
    """Insert an `fx_rates` change (no hour range) for every scope with a snapshot whose
    converted figures may use a changed rate; returns ([(kind, id)], database time).

    ranges: [(currency, first day, end day or None)]. A scope is marked when its
    daily rollup has a row of that currency on one of those days, or when it
    has a pending hour range (its rollup may lag there; it is recomputed anyway).
    The time is read last, just before the caller's commit.
    """
    if not ranges:
        return [], None
    cursor.execute(
        f"INSERT INTO {DIRTY} (scope_kind, scope_id, reason, marked_at) "
        "SELECT s.scope_kind, s.scope_id, 'fx_rates', now() "
        "FROM (SELECT DISTINCT scope_kind, scope_id FROM dashboard_snapshot) s "
        "WHERE EXISTS (SELECT 1 FROM unnest(%s::varchar[], %s::date[], %s::date[]) "
        f"AS r(currency, lo, hi) JOIN {DAILY} d ON d.currency = r.currency "
        "AND d.bucket >= (r.lo::timestamp AT TIME ZONE 'UTC') "
        "AND d.bucket < coalesce(r.hi::timestamp AT TIME ZONE 'UTC', 'infinity') "
        "WHERE d.scope_kind = s.scope_kind AND d.scope_id = s.scope_id) "
        f"OR EXISTS (SELECT 1 FROM {DIRTY} c WHERE c.scope_kind = s.scope_kind "
        "AND c.scope_id = s.scope_id AND c.min_bucket IS NOT NULL) "
        "RETURNING scope_kind, scope_id",
        [[r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges]],
    )
    scopes = cursor.fetchall()
    cursor.execute("SELECT clock_timestamp()")
    return scopes, cursor.fetchone()[0]


def rollup_refresh(cursor, kind, ident, lo, hi):
    """Recompute the hourly and daily rollups of one scope for hours [lo, hi] (inclusive)."""
    where, params = raw_scope_filter(kind, ident)
    cursor.execute(
        f"DELETE FROM {HOURLY} WHERE scope_kind = %s AND scope_id = %s "
        "AND bucket >= %s AND bucket <= %s",
        [kind, ident, lo, hi],
    )
    cursor.execute(
        f"INSERT INTO {HOURLY} (scope_kind, scope_id, bucket, currency, source, {_COLS_T}) "
        f"SELECT %s, %s, a.bucket, a.currency, a.source, {_SUMS_T} FROM {RAW} a "
        f"WHERE {where} AND a.bucket >= %s AND a.bucket <= %s "
        "GROUP BY a.bucket, a.currency, a.source",
        [kind, ident, *params, lo, hi],
    )
    cursor.execute(
        f"DELETE FROM {DAILY} WHERE scope_kind = %s AND scope_id = %s "
        "AND bucket >= date_trunc('day', %s::timestamptz, 'UTC') AND bucket <= %s",
        [kind, ident, lo, hi],
    )
    cursor.execute(
        f"INSERT INTO {DAILY} (scope_kind, scope_id, bucket, currency, source, {_COLS_T}) "
        f"SELECT scope_kind, scope_id, date_trunc('day', bucket, 'UTC') AS day, currency, source, "
        f"{_SUMS_T} FROM {HOURLY} WHERE scope_kind = %s AND scope_id = %s "
        "AND bucket >= date_trunc('day', %s::timestamptz, 'UTC') "
        "AND bucket < date_trunc('day', %s::timestamptz, 'UTC') + interval '1 day' "
        "GROUP BY scope_kind, scope_id, day, currency, source",
        [kind, ident, lo, hi],
    )


def rollup_rebuild_all(cursor, lo, hi):
    """Rebuild every rollup row for hours [lo, hi] from the aggregates (bulk loads, repair).

    Locks both rollup tables against writers until commit: a concurrent
    per-scope refresh would otherwise re-insert rows this rebuild also inserts.
    Maintenance only: scope refreshes wait. Ingestion never writes a rollup
    table (and only inserts its change rows), so it does not.
    """
    cursor.execute(f"LOCK TABLE {HOURLY}, {DAILY} IN EXCLUSIVE MODE")
    cursor.execute(f"DELETE FROM {HOURLY} WHERE bucket >= %s AND bucket <= %s", [lo, hi])
    cursor.execute(
        f"INSERT INTO {HOURLY} (scope_kind, scope_id, bucket, currency, source, {_COLS_T}) "
        f"SELECT scope_kind, scope_id, bucket, currency, source, {_SUMS_T} FROM {RAW} "
        "WHERE bucket >= %s AND bucket <= %s "
        "GROUP BY scope_kind, scope_id, bucket, currency, source",
        [lo, hi],
    )
    cursor.execute(
        f"INSERT INTO {HOURLY} (scope_kind, scope_id, bucket, currency, source, {_COLS_T}) "
        f"SELECT 'region', country, bucket, currency, source, {_SUMS_T} FROM {RAW} "
        "WHERE scope_kind = 'platform' AND bucket >= %s AND bucket <= %s "
        "GROUP BY country, bucket, currency, source",
        [lo, hi],
    )
    cursor.execute(
        f"DELETE FROM {DAILY} WHERE bucket >= date_trunc('day', %s::timestamptz, 'UTC') "
        "AND bucket <= %s",
        [lo, hi],
    )
    cursor.execute(
        f"INSERT INTO {DAILY} (scope_kind, scope_id, bucket, currency, source, {_COLS_T}) "
        f"SELECT scope_kind, scope_id, date_trunc('day', bucket, 'UTC') AS day, currency, source, "
        f"{_SUMS_T} FROM {HOURLY} WHERE bucket >= date_trunc('day', %s::timestamptz, 'UTC') "
        "AND bucket < date_trunc('day', %s::timestamptz, 'UTC') + interval '1 day' "
        "GROUP BY scope_kind, scope_id, day, currency, source",
        [lo, hi],
    )


# ------------------------------------------------------------------ reads

_ROW = f"bucket, currency, source, {_COLS}"
# The scope's pending hour range, computed once per statement: min/max over its
# change rows (from the dirty_change_scope index); NULLs when nothing with a
# range is pending. Referenced as scalar sub-selects (init plans), which prune
# the raw table's partitions at run time.
_RANGE = (
    "WITH {name} AS MATERIALIZED (SELECT {lo} AS lo, {hi} AS hi "
    f"FROM {DIRTY} WHERE scope_kind = %s AND scope_id = %s) "
)


def _exact_hours(kind, ident, frm, to, extra="", extra_params=(), cols=_ROW):
    """Rows (`cols`, bucket first) of a scope's hours in [frm, to), exact.

    The hourly rollup outside the scope's dirty range, the raw aggregates
    inside it. The literal [frm, to) bounds on the raw table prune its
    partitions when planning; the dirty bounds are scalar sub-selects (init
    plans), which prune the rest at run time.
    """
    raw_where, raw_params = raw_scope_filter(kind, ident)
    lo, hi = "(SELECT lo FROM dr)", "(SELECT hi FROM dr)"
    raw_cols = ", ".join(f"a.{c.strip()}" for c in cols.split(","))
    sql = _RANGE.format(name="dr", lo="min(min_bucket)", hi="max(max_bucket)") + (
        f"SELECT {cols} FROM {HOURLY} r "
        "WHERE r.scope_kind = %s AND r.scope_id = %s AND r.bucket >= %s AND r.bucket < %s"
        f"{extra.format(a='r')} AND NOT coalesce(r.bucket BETWEEN {lo} AND {hi}, false) "
        f"UNION ALL SELECT {raw_cols} FROM {RAW} a "
        f"WHERE {raw_where} AND a.bucket >= %s AND a.bucket < %s "
        f"AND a.bucket >= {lo} AND a.bucket <= {hi}{extra.format(a='a')}"
    )
    scope = [kind, ident]
    params = [*scope, *scope, frm, to, *extra_params, *raw_params, frm, to, *extra_params]
    return sql, params


def _exact_days(kind, ident, frm, to, extra="", extra_params=(), cols=_ROW):
    """Rows like `_exact_hours` for whole UTC days [frm, to) (both day-aligned).

    Days without a dirty hour come from the daily rollup; the days the dirty
    range touches are summed from the exact hourly rows.
    """
    dlo, dhi = "(SELECT lo FROM dd)", "(SELECT hi FROM dd)"
    hours, hour_params = _exact_hours(kind, ident, frm, to, extra, extra_params, cols)
    sql = _RANGE.format(
        name="dd",
        lo="date_trunc('day', min(min_bucket), 'UTC')",
        hi="date_trunc('day', max(max_bucket), 'UTC')",
    ) + (
        f"SELECT {cols} FROM {DAILY} r "
        "WHERE r.scope_kind = %s AND r.scope_id = %s AND r.bucket >= %s AND r.bucket < %s"
        f"{extra.format(a='r')} AND NOT coalesce(r.bucket BETWEEN {dlo} AND {dhi}, false) "
        f"UNION ALL SELECT * FROM ({hours}) h "
        f"WHERE h.bucket >= {dlo} AND h.bucket < {dhi} + interval '1 day'"
    )
    scope = [kind, ident]
    params = [*scope, *scope, frm, to, *extra_params, *hour_params]
    return sql, params


def columns_of(exprs):
    """The row columns `exprs` need: bucket first, then the figures and `source` they name."""
    text = " ".join(exprs)
    needed = [c for c in (*FIGURES, "source") if c in text]
    return ", ".join(["bucket", *needed])


def scope_hourly_rows(cursor, kind, ident, frm, to):
    """Every figure of one scope per (hour, currency, source) over [frm, to), exact, then
    the newest event time of those rows (last_event_at, NULL for rows loaded without it)."""
    body, params = _exact_hours(kind, ident, frm, to, cols=f"{_ROW}, last_event_at")
    cursor.execute(
        f"SELECT bucket, currency, source, {_SUMS_T} FROM ({body}) x "
        "GROUP BY bucket, currency, source ORDER BY bucket",
        params,
    )
    return cursor.fetchall()


def series(cursor, *, kind, ident, frm, to, day, exprs, currency=None, source=None, geo=None):
    """Per-bucket values of `exprs` (SQL aggregates over the figure columns) for [frm, to).

    Returns [[epoch seconds, "value", ...], ...] for the buckets with rows, the
    values as exact decimal text without trailing zeros (or None). Postgres
    builds ONE JSON text: parsing it costs far less than 720 rows of
    timestamps and numerics through the driver.

    `geo` (country/region/city equality filters) reads the raw aggregates: the
    rollups have no geography. Otherwise the exact rollup unions above.
    """
    extra, extra_params = "", []
    if currency is not None:
        extra += " AND {a}.currency = %s"
        extra_params.append(currency)
    if source is not None:
        extra += " AND {a}.source = %s"
        extra_params.append(source)
    values = ", ".join(f"{e} AS v{i}" for i, e in enumerate(exprs))
    if geo:
        where, params = raw_scope_filter(kind, ident)
        trunc = "date_trunc('day', a.bucket, 'UTC')" if day else "a.bucket"
        geo_sql = "".join(f" AND a.{k} = %s" for k in geo)
        grouped = (
            f"SELECT {trunc} AS t, {values} FROM {RAW} a "
            f"WHERE {where} AND a.bucket >= %s AND a.bucket < %s{geo_sql}{extra.format(a='a')} "
            "GROUP BY t"
        )
        params = [*params, frm, to, *geo.values(), *extra_params]
    else:
        cols = columns_of(exprs)
        if day:
            body, params = _exact_days(kind, ident, frm, to, extra, extra_params, cols)
            trunc = "date_trunc('day', bucket, 'UTC')"
        else:
            body, params = _exact_hours(kind, ident, frm, to, extra, extra_params, cols)
            trunc = "bucket"
        grouped = f"SELECT {trunc} AS t, {values} FROM ({body}) x GROUP BY t"
    texts = ", ".join(f"trim_scale(g.v{i}::numeric)::text" for i in range(len(exprs)))
    cursor.execute(
        "SELECT coalesce(json_agg(json_build_array(extract(epoch FROM g.t)::bigint, "
        f"{texts}))::text, '[]') FROM ({grouped}) g",
        params,
    )
    return orjson.loads(cursor.fetchone()[0])


def _top(inner, *, quote, limit):
    """Top `limit` keys of `inner` (rows key, day, currency, gmv) by GMV in `quote`.

    Converted in SQL so thousands of merchants never travel to Python: each
    (key, day, currency) sum at the rate in force that day (latest rate dated
    on or before it), rounded to 4 places like dashboard.snapshots.fx.
    Currencies without a rate are left out of the sum and listed per key.
    """
    return (
        f"WITH g AS ({inner}), "
        "pairs AS (SELECT DISTINCT currency, day FROM g), "
        "rates AS (SELECT p.currency, p.day, CASE WHEN p.currency = %(quote)s THEN 1 ELSE ("
        "SELECT f.rate FROM dashboard_fx_rate f WHERE f.currency = p.currency "
        "AND f.quote_currency = %(quote)s AND f.rate_date <= (p.day AT TIME ZONE 'UTC')::date "
        "ORDER BY f.rate_date DESC LIMIT 1) END AS rate FROM pairs p) "
        "SELECT g.key, coalesce(sum(round(g.gmv * r.rate, 4)), 0) AS conv, "
        "array_remove(array_agg(DISTINCT CASE WHEN r.rate IS NULL THEN g.currency END), NULL) "
        "FROM g JOIN rates r ON r.currency = g.currency AND r.day = g.day "
        "GROUP BY g.key ORDER BY conv DESC, g.key LIMIT %(limit)s"
    )


def top_groups(cursor, *, group_kind, frm, to, quote, limit):
    """Top scopes of `group_kind` over [frm, to): [(scope_id, converted gmv, missing currencies)].

    Used for the top merchants (group_kind="merchant") and the platform's top
    countries (group_kind="region"). Whole days from the daily rollup, the
    partial days at the edges from the hourly rollup. Rollups may lag inside
    dirty ranges until their scope's refresh: a refresh run rewrites every
    dirty rollup range before it computes the platform.
    """
    inner = (
        "SELECT scope_id AS key, date_trunc('day', bucket, 'UTC') AS day, currency, "
        "sum(gmv) AS gmv FROM ("
        f"SELECT scope_id, bucket, currency, gmv FROM {DAILY} WHERE scope_kind = %(k)s "
        "AND bucket >= %(dfrom)s AND bucket < %(dto)s "
        f"UNION ALL SELECT scope_id, bucket, currency, gmv FROM {HOURLY} WHERE scope_kind = %(k)s "
        "AND bucket >= %(frm)s AND bucket < least(%(dfrom)s, %(to)s) "
        f"UNION ALL SELECT scope_id, bucket, currency, gmv FROM {HOURLY} WHERE scope_kind = %(k)s "
        "AND bucket >= greatest(%(dto)s, %(frm)s) AND bucket < %(to)s"
        ") x GROUP BY 1, 2, 3 HAVING sum(gmv) <> 0"
    )
    cursor.execute(
        _top(inner, quote=quote, limit=limit),
        {"k": group_kind, "frm": frm, "to": to, "quote": quote, "limit": limit,
         **_whole_days(frm, to)},
    )  # fmt: skip
    return cursor.fetchall()


def bank_top_merchants(cursor, *, bank_id, frm, to, quote, limit):
    """Top merchants inside one bank scope over [frm, to), like `top_groups`.

    Reads dashboard_bank_merchant_hourly (GMV per bank, hour, merchant and
    currency, written by ingestion in the batch transaction), so it is exact
    at any time, without a refresh of the merchants' rollups.
    """
    inner = (
        "SELECT merchant_id AS key, date_trunc('day', bucket, 'UTC') AS day, currency, "
        "sum(gmv) AS gmv FROM dashboard_bank_merchant_hourly WHERE bank_id = %(bank)s "
        "AND bucket >= %(frm)s AND bucket < %(to)s GROUP BY 1, 2, 3 HAVING sum(gmv) <> 0"
    )
    cursor.execute(
        _top(inner, quote=quote, limit=limit),
        {"bank": bank_id, "frm": frm, "to": to, "quote": quote, "limit": limit},
    )
    return cursor.fetchall()


def top_countries_raw(cursor, *, kind, ident, frm, to, quote, limit):
    """Top countries of one scope over [frm, to) from the aggregates, like `top_groups`."""
    where, params = raw_scope_filter(kind, ident)
    where = where.replace("%s", "%(p{})s")
    named = {}
    for i, value in enumerate(params):
        where = where.replace("%(p{})s", f"%(p{i})s", 1)
        named[f"p{i}"] = value
    inner = (
        "SELECT a.country AS key, date_trunc('day', a.bucket, 'UTC') AS day, a.currency, "
        f"sum(a.gmv) AS gmv FROM {RAW} a WHERE {where} AND a.bucket >= %(frm)s "
        "AND a.bucket < %(to)s GROUP BY 1, 2, 3 HAVING sum(a.gmv) <> 0"
    )
    cursor.execute(
        _top(inner, quote=quote, limit=limit),
        {**named, "frm": frm, "to": to, "quote": quote, "limit": limit},
    )
    return cursor.fetchall()


# One row per period of a scope. A plain multi-row VALUES: Django's bulk_create
# would send each column as an array whose text elements psycopg escapes in
# Python character by character (measured: half of a scope's refresh time,
# for bodies of a few kilobytes).
_SNAPSHOT_UPSERT = (
    "INSERT INTO dashboard_snapshot "
    "(scope_kind, scope_id, period, body, window_to, as_of, computed_at) VALUES {values} "
    "ON CONFLICT (scope_kind, scope_id, period) DO UPDATE SET body = EXCLUDED.body, "
    "window_to = EXCLUDED.window_to, as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at"
)


def snapshots_upsert(cursor, rows):
    """rows: (scope_kind, scope_id, period, body, window_to, as_of, computed_at) tuples."""
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    cursor.execute(_SNAPSHOT_UPSERT.format(values=values), [value for row in rows for value in row])


def active_scopes(cursor, since):
    """Every (scope_kind, scope_id) with rollup rows since `since`."""
    cursor.execute(
        f"SELECT DISTINCT scope_kind, scope_id FROM {DAILY} WHERE bucket >= "
        "date_trunc('day', %s::timestamptz, 'UTC')",
        [since],
    )
    return cursor.fetchall()


def _whole_days(frm, to):
    from datetime import timedelta

    dfrom = frm.replace(hour=0, minute=0, second=0, microsecond=0)
    if dfrom < frm:
        dfrom += timedelta(days=1)
    dto = to.replace(hour=0, minute=0, second=0, microsecond=0)
    if dto < dfrom:
        dto = dfrom
    return {"dfrom": dfrom, "dto": dto}
