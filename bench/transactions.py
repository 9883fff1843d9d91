"""Transactions benchmark on the DEV stack: N stored events, timed reads as users make them.

    eval "$(bash scripts/stack.sh env dev)" && .venv/bin/python manage.py migrate
    .venv/bin/python bench/transactions.py --rows 50000000

Fills dashboard_transaction with SQL generate_series, the last --days days, as
the owner role: each day built unindexed, then indexed in one pass per index,
attached as the day's partition and VACUUM ANALYZEd, --jobs days at once
(--keep leaves the rows, --reuse reads them again without a fill): many
merchants, agents and banks, every event type, two currencies, six countries;
every bench event id starts with `bt-` and every merchant with `bm_`. Then
times the selectors the API calls (SQL + rows, what the view serializes):

- one merchant's last 24 h, first page (50 rows), random merchants: p95 < 10 ms;
- a platform-wide filtered page (type, currency, country over 7 days), first
  and a following page: p95 < 50 ms;
- a drill-down sum over one day (a merchant's GMV, a bank's GMV; the platform's
  reported too): p95 < 100 ms.

Pages are bounded by the end of the bench's last day (its world: with --now in
the past, later rows of the dev database are not the bench's). Every answer is
checked: pages against the same query run with index scans off (another plan),
sums against a sum computed another way. The rows are removed at the end (the
bench day partitions emptied) unless --keep.
Last line: one JSON object.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")  # (with DEBUG on, Django records every query)

TYPES = [
    ("payment.initiated", "connect", False), ("payment.succeeded", "connect", True),
    ("payment.failed", "connect", False), ("refund.succeeded", "connect", True),
    ("dispute.opened", "connect", True), ("payout.completed", "connect", True),
    ("payout.failed", "wallet", False), ("fraud.flagged", "connect", True),
    ("transfer.completed", "wallet", True), ("cash_in.completed", "wallet", True),
    ("cash_out.completed", "wallet", True), ("payment.succeeded", "connect", True),
]  # fmt: skip
COUNTRIES = ["SN", "CI", "ML", "BF", "GH", "NE"]
TARGETS_MS = {"merchant_24h_first_page": 10, "platform_filtered_page": 50, "drilldown_day_sum": 100}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def fail(message, code=2):
    log(message)
    print(json.dumps({"error": message}))
    sys.exit(code)


def _fill_sql(part, day_start, n, merchants, agents, banks):
    """INSERT ... SELECT generate_series of one day's `n` events, spread evenly over the
    day; the columns are deterministic functions of g (so a re-run is reproducible)."""
    types = "ARRAY[" + ", ".join(f"'{t}'" for t, _, _ in TYPES) + "]"
    sources = "ARRAY[" + ", ".join(f"'{s}'" for _, s, _ in TYPES) + "]"
    money = "ARRAY[" + ", ".join("true" if m else "false" for _, _, m in TYPES) + "]"
    countries = "ARRAY[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    k = len(TYPES)
    return f"""
INSERT INTO {part} (event_id, type, source, occurred_at, currency, amount, fee, cost,
                    merchant_id, agent_id, bank_id, country, region, city)
SELECT 'bt-{day_start:%Y%m%d}-' || g,
       ({types})[1 + (h % {k})],
       ({sources})[1 + (h % {k})],
       TIMESTAMPTZ '{day_start.isoformat()}' + ((g - 1) * (86400000000 / {n}))::bigint
           * INTERVAL '1 microsecond',
       CASE WHEN (h / 31) % 20 = 7 THEN 'GHS' ELSE 'XOF' END,
       CASE WHEN ({money})[1 + (h % {k})] THEN ((h / 13) % 5000000)::numeric / 100 END,
       CASE WHEN ({money})[1 + (h % {k})] THEN ((h / 17) % 5000)::numeric / 100 END,
       CASE WHEN ({money})[1 + (h % {k})] THEN ((h / 19) % 2000)::numeric / 100 END,
       CASE WHEN h % 10 < 8 THEN 'bm_' || ((h / 7) % {merchants}) END,
       CASE WHEN ({sources})[1 + (h % {k})] = 'wallet' THEN 'ba_' || ((h / 11) % {agents}) END,
       CASE WHEN h % 10 < 6 THEN 'bb_' || ((h / 23) % {banks}) END,
       ({countries})[1 + ((h / 29) % {len(COUNTRIES)})],
       'bench', 'bench'
FROM (SELECT g, (g * 2654435761) % 4294967291 AS h FROM generate_series(1, {n}) g) s
"""


def _fill_day(owner_url, day, per_day, args):
    """One day's rows, built where no index slows them down and attached after.

    The rows go into a plain table of the partition's shape (no index: each row
    costs its heap write only), then the parent's indexes are built on it in one
    sorted pass each (far cheaper than maintaining them row by row) and ATTACH
    PARTITION adopts them, then VACUUM ANALYZE sets its visibility map and statistics (what
    autovacuum's insert-triggered runs do to a closed day). A day whose partition
    already holds rows (not the bench's) is filled in place instead."""
    import psycopg

    from dashboard.partitions import TX_TABLE, create_tx_partition_sql, tx_partition_name

    part = tx_partition_name(day)
    stage = f"{part}_fill"
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    sql = _fill_sql(stage, day_start, per_day, args.merchants, args.agents, args.banks)
    t0 = time.perf_counter()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [part]).fetchone()[0]
        if exists and conn.execute(f"SELECT EXISTS (SELECT FROM {part})").fetchone()[0]:
            conn.execute(create_tx_partition_sql(day))
            conn.execute(sql.replace(stage, part, 1))
        else:
            if exists:  # an empty partition made ahead of time: replaced by the filled one
                conn.execute(f"ALTER TABLE {TX_TABLE} DETACH PARTITION {part}")
                conn.execute(f"DROP TABLE {part}")
            conn.execute(f"DROP TABLE IF EXISTS {stage}")
            conn.execute(f"CREATE TABLE {stage} (LIKE {TX_TABLE} INCLUDING DEFAULTS)")
            conn.execute(sql)
            # The bounds as a constraint: ATTACH then need not scan the rows to check them.
            end = day_start + timedelta(days=1)
            conn.execute(
                f"ALTER TABLE {stage} ADD CONSTRAINT {stage}_bounds CHECK "
                f"(occurred_at >= '{day_start.isoformat()}' AND occurred_at < '{end.isoformat()}')"
            )
            # The parent's indexes, each built in one sorted pass on this day alone
            # (several days at once; ATTACH then only adopts them).
            defs = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
                [TX_TABLE],
            ).fetchall()
            for i, (indexdef,) in enumerate(defs):
                body = indexdef.split(f" ON ONLY public.{TX_TABLE} ", 1)[1]
                conn.execute(f"CREATE INDEX {part}_ix{i} ON {stage} {body}")
            conn.execute(f"ALTER TABLE {stage} RENAME TO {part}")
            conn.execute(
                f"ALTER TABLE {TX_TABLE} ATTACH PARTITION {part} FOR VALUES "
                f"FROM ('{day_start.isoformat()}') TO ('{end.isoformat()}')"
            )
            conn.execute(f"ALTER TABLE {part} DROP CONSTRAINT {stage}_bounds")
        conn.execute(f"VACUUM (ANALYZE) {part}")
    return part, time.perf_counter() - t0


def fill(args):
    """The bench rows, day by day, --jobs days at a time (each its own connection)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from common import dbroles

    today = args.now.date()
    per_day = args.rows // args.days
    days = [today - timedelta(days=i) for i in range(args.days - 1, -1, -1)]
    with dbroles.as_owner() as owner:
        s = owner.settings_dict
        owner_url = (f"host={s['HOST']} port={s['PORT']} dbname={s['NAME']} "
                     f"user={s['USER']} password={s['PASSWORD']}")  # fmt: skip
    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for part, seconds in pool.map(lambda d: _fill_day(owner_url, d, per_day, args), days):
            done += per_day
            log(f"{part}: {per_day} rows in {seconds:.1f} s ({done} in all)")
    with dbroles.as_owner(), connection.cursor() as cur:
        cur.execute("ANALYZE dashboard_transaction")
    return done, time.perf_counter() - started


def empty(days, now):
    """Remove the bench rows: its day partitions emptied (TRUNCATE, as the owner)."""
    from django.db import connection

    from common import dbroles
    from dashboard.partitions import tx_partition_name

    today = now.date()
    with dbroles.as_owner(), connection.cursor() as cur:
        for i in range(days):
            cur.execute(f"TRUNCATE {tx_partition_name(today - timedelta(days=i))}")


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def timed(fn, n):
    """[(ms, answer)] of n calls."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        answer = fn(i)
        out.append(((time.perf_counter() - t0) * 1000, answer))
    return out


def _other_plan(sql, params):
    """The same query with index scans off: the answer another plan gives."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute("SET LOCAL enable_indexonlyscan = off")
        cur.execute(sql, params)
        return cur.fetchall()


def platform_pages(args, rnd, now, combos):
    """Timings of first and second pages of random filter combinations; the wrong answers."""
    from accounts.scope import Scope
    from dashboard.transactions.selectors import TxQuery, transactions_page

    picks = [rnd.choice(combos) for _ in range(args.queries)]
    cursors = {}

    def page(i):
        t, c, cc = picks[i]
        q = TxQuery(scope=Scope.platform(), frm=now - timedelta(days=7), to=args.end, types=(t,),
                    currency=c, country=cc, after=cursors.get(i))  # fmt: skip
        return transactions_page(q)

    first = timed(page, args.queries)
    for i, (_ms, (rows, _next)) in enumerate(first):
        if rows:
            cursors[i] = (rows[-1]["occurred_at"], rows[-1]["event_id"])
    second = timed(page, args.queries)
    bad = []
    for i, (_ms, (rows, _next)) in enumerate(first[: args.checks]):
        t, c, cc = picks[i]
        expected = _other_plan(
            "SELECT event_id FROM dashboard_transaction WHERE occurred_at >= %s "
            "AND occurred_at < %s AND type = %s "
            "AND (%s::text IS NULL OR currency = %s) AND country = %s "
            "ORDER BY occurred_at DESC, event_id DESC LIMIT 100",
            [now - timedelta(days=7), args.end, t, c, c, cc],
        )
        got = [r["event_id"] for r in rows] + [r["event_id"] for r in second[i][1][0]]
        if got != [e[0] for e in expected] or not rows:
            bad.append(picks[i])
    return [ms for ms, _ in first + second], bad


def run(args):
    from accounts.scope import Scope
    from dashboard.transactions.selectors import TxQuery, drilldown_sum, transactions_page

    rnd = random.Random(args.seed)
    now = args.now
    result, wrong = {}, []

    # 1. One merchant's last 24 h, first page.
    merchants = [f"bm_{rnd.randrange(args.merchants)}" for _ in range(args.queries)]

    def merchant_page(i):
        q = TxQuery(
            scope=Scope("merchant", merchants[i]), frm=now - timedelta(hours=24), to=args.end
        )
        return transactions_page(q)

    runs = timed(merchant_page, args.queries)
    for i, (_ms, (rows, _cursor)) in enumerate(runs[: args.checks]):
        expected = _other_plan(
            "SELECT event_id FROM dashboard_transaction WHERE merchant_id = %s AND "
            "occurred_at >= %s AND occurred_at < %s AND type <> 'agent.float_updated' "
            "ORDER BY occurred_at DESC, event_id DESC LIMIT 50",
            [merchants[i], now - timedelta(hours=24), args.end],
        )
        if [r["event_id"] for r in rows] != [e[0] for e in expected] or not rows:
            wrong.append(("merchant_24h_first_page", merchants[i]))
    result["merchant_24h_first_page"] = [ms for ms, _ in runs]

    # 2. Platform-wide filtered pages over 7 days, first page and the one after (its
    # cursor): a type and a country (what ops filter by), and, reported apart, rarer
    # combinations adding a minority currency (few matches: more rows read per page).
    common = [(t, None, cc) for t in ("payment.succeeded", "payment.failed", "fraud.flagged")
              for cc in COUNTRIES]  # fmt: skip
    rare = [(t, "GHS", cc) for t in ("fraud.flagged", "cash_out.completed") for cc in COUNTRIES]
    for name, combos in (("platform_filtered_page", common), ("platform_rare_filter_page", rare)):
        times, bad = platform_pages(args, rnd, now, combos)
        result[name] = times
        wrong.extend((name, *b) for b in bad)

    # 3. Drill-down sums over one UTC day: a merchant's GMV, a bank's GMV.
    day0 = datetime(now.year, now.month, now.day, tzinfo=UTC)
    days = [day0 - timedelta(days=rnd.randrange(1, args.days)) for _ in range(args.queries)]
    targets = [
        Scope("merchant", f"bm_{rnd.randrange(args.merchants)}")
        if i % 2 == 0
        else Scope("bank", f"bb_{rnd.randrange(args.banks)}")
        for i in range(args.queries)
    ]

    def day_sum(i):
        q = TxQuery(scope=targets[i], frm=days[i], to=days[i] + timedelta(days=1), figure="gmv")
        return drilldown_sum(q)

    runs = timed(day_sum, args.queries)
    for i, (_ms, answer) in enumerate(runs[: args.checks]):
        column = f"{targets[i].kind}_id"
        expected = _other_plan(
            f"SELECT currency, sum(CASE WHEN type IN ('payment.succeeded', 'transfer.completed') "
            f"THEN amount ELSE 0 END) FROM dashboard_transaction WHERE {column} = %s AND "
            "occurred_at >= %s AND occurred_at < %s GROUP BY currency",
            [targets[i].id, days[i], days[i] + timedelta(days=1)],
        )
        from decimal import Decimal

        want = {cur: Decimal(v) for cur, v in expected if v}
        got = {cur: Decimal(v) for cur, v in answer.get("amounts", {}).items() if Decimal(v)}
        if want != got or not got:
            wrong.append(("drilldown_day_sum", str(targets[i]), days[i].date().isoformat()))
    result["drilldown_day_sum"] = [ms for ms, _ in runs]

    # The platform's whole day, for the record (every event of the day is read).
    runs = timed(lambda i: drilldown_sum(TxQuery(scope=Scope.platform(), frm=days[i],
                 to=days[i] + timedelta(days=1), figure="gmv")), 5)  # fmt: skip
    result["platform_day_sum"] = [ms for ms, _ in runs]
    return result, wrong


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--merchants", type=int, default=20000)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--banks", type=int, default=20)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--checks", type=int, default=10, help="answers checked per read")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--reuse", action="store_true", help="the rows are already there")
    ap.add_argument("--jobs", type=int, default=2, help="days filled at once (connections)")
    ap.add_argument("--keep", action="store_true", help="leave the rows in place")
    ap.add_argument(
        "--now",
        help="RFC 3339: the bench's present (its last filled day is this one's; default: now). "
        "With --reuse, a fill that stopped early is read at its end.",
    )
    args = ap.parse_args()
    args.now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    # The bench's world ends with its last filled day: pages are bounded there, so
    # that with --now in the past other rows of the dev database (later days: the
    # ingestion bench's, the demo's) are not read as if they were the bench's.
    args.end = datetime(args.now.year, args.now.month, args.now.day, tzinfo=UTC) + timedelta(days=1)

    import django

    try:
        django.setup()
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_inherits "
                        "WHERE inhparent = 'dashboard_transaction'::regclass")  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        fail(f"the dev stack is not running or not migrated: {exc}")
    filled, fill_s = (args.rows // args.days * args.days, 0.0) if args.reuse else fill(args)
    if not args.reuse:
        log(f"filled {filled} rows in {fill_s:.0f} s ({filled / fill_s:.0f} rows/s)")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_transaction WHERE region = 'bench'")
        stored = cur.fetchone()[0]
    timings, wrong = run(args)
    summary = {"rows": stored, "days": args.days, "merchants": args.merchants,
               "now": args.now.isoformat(),
               "queries_each": args.queries, "fill_seconds": round(fill_s)}  # fmt: skip
    ok = not wrong
    for name, values in timings.items():
        summary[name] = {
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(pct(values, 0.95), 2),
            "max_ms": round(max(values), 2),
        }
        if name in TARGETS_MS:
            summary[name]["target_p95_ms"] = TARGETS_MS[name]
            summary[name]["met"] = summary[name]["p95_ms"] < TARGETS_MS[name]
    summary["answers_checked"] = args.checks * 3
    summary["wrong_answers"] = wrong
    if not args.keep:
        empty(args.days, args.now)
        log("bench rows removed")
    print(json.dumps(summary))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
