"""Alert evaluation benchmark on the DEV stack: 10M aggregate rows, 10k merchants, 20k
agents, 500 banks; p95 of one evaluation cycle of every default rule, and accuracy
against scripted traffic crossing thresholds at known times.

    STACK_PORT_OFFSET=<n> bash scripts/stack.sh up dev
    eval "$(STACK_PORT_OFFSET=<n> bash scripts/stack.sh env dev)"
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/alerts.py [--rows 10000000] [--cycles 10] [--clean]

1. Fills dashboard_hourly_aggregate server-side (INSERT ... SELECT generate_series:
   every merchant, agent and bank one row per hour, platform rows per country, up to
   the current hour; every bench row has region='bench-alerts') and agents_agent
   (agent ids bench_a*), all figures below every default threshold. A second run
   reuses the rows (same --rows); --clean removes them and exits.
2. Times `alerts.evaluation.evaluate_all` (every enabled rule: one SQL statement per
   rule over every series) --cycles times at the real current time: p50, p95, max,
   and per rule.
3. Accuracy: simulated minutes T+1..T+14 of the current hour; before some cycles the
   script crosses thresholds (fraud for merchants, payout failures for banks, float
   under its threshold for agents), some only for less than `for`, and at T+12 every
   crossing recovers. Expected: each held crossing opens exactly one alert in the
   cycle `for` after it was first seen, short crossings and untouched series open
   nothing, each recovery resolves its alert in that cycle.
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
os.environ.setdefault("DEBUG", "false")

N_MERCHANTS, N_AGENTS, N_BANKS = 10_000, 20_000, 500
COUNTRIES = ["SN", "CI", "ML", "BF", "GH", "NG", "TG"]
MARK = "bench-alerts"


def fail(message):
    print(message, file=sys.stderr)
    print(json.dumps({"error": message}))
    sys.exit(2)


def now_hour():
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def sql(text, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(text, params or [])
        return cur.rowcount


def bench_rows():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_hourly_aggregate WHERE region = %s", [MARK])
        return cur.fetchone()[0]


def clean():
    n = sql("DELETE FROM dashboard_hourly_aggregate WHERE region = %s", [MARK])
    a = sql("DELETE FROM agents_agent WHERE agent_id LIKE 'bench\\_a%%'")
    return n, a


def fill(rows):
    """Background traffic under every threshold, hour by hour up to the current hour."""
    per_hour = N_MERCHANTS + N_AGENTS + N_BANKS + len(COUNTRIES)
    hours = max(24 * 8 + 2, rows // per_hour)  # last week's baseline needs 8 days
    end = now_hour()
    start = end - timedelta(hours=hours - 1)
    cols = (
        "scope_kind, scope_id, bucket, country, region, city, currency, source, attempts, "
        "success_count, failed_count, payouts_count, payouts_failed_count, fraud_count, gmv, "
        "fraud_amount"
    )
    # Fraud 0-49 bps, payout failures 0-2 %, success rate 95 % every hour (stable week on
    # week): nothing crosses a default rule.
    kinds = [
        ("merchant", "bm_", N_MERCHANTS, "100000", "(n * 7 + h_i) %% 50 * 10", "0"),
        ("agent", "ba_", N_AGENTS, "20000", "0", "0"),
        ("bank", "bb_", N_BANKS, "500000", "0", "(n + h_i) %% 3"),
    ]
    t0 = time.perf_counter()
    for kind, prefix, count, gmv, fraud, failed in kinds:
        sql(
            f"INSERT INTO dashboard_hourly_aggregate ({cols}) "
            f"SELECT %s, %s || n, h, 'SN', %s, 'Dakar', 'XOF', 'connect', 100, 95, 5, 100, "
            f"{failed}, 0, {gmv}, {fraud} "
            "FROM generate_series(0, %s) n, "
            "LATERAL (SELECT h, (extract(epoch FROM h) / 3600)::bigint AS h_i "
            "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') h) hh",
            [kind, prefix, MARK, count - 1, start, end],
        )
        print(f"  {kind}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sql(
        f"INSERT INTO dashboard_hourly_aggregate ({cols}) "
        "SELECT 'platform', '', h, c, %s, 'Capital', 'XOF', 'connect', 100000, 95000, 5000, "
        "1000, 10, 0, 100000000, 0 FROM unnest(%s::text[]) c, "
        "generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') h",
        [MARK, COUNTRIES, start, end],
    )
    sql(
        "INSERT INTO agents_agent (agent_id, country, float_balance, low_float_threshold, "
        "currency) SELECT 'bench_a' || n, 'SN', 500000, 100000, 'XOF' "
        "FROM generate_series(0, %s) n ON CONFLICT (agent_id) DO NOTHING",
        [N_AGENTS - 1],
    )
    sql("ANALYZE dashboard_hourly_aggregate")
    sql("ANALYZE agents_agent")
    return time.perf_counter() - t0


def reset_alert_state():
    from alerts.models import Alert, NotificationGroup, RuleSeriesState

    RuleSeriesState.objects.all().delete()
    NotificationGroup.objects.all().delete()
    Alert.objects.filter(status__in=["open", "acknowledged"]).update(status="resolved")


def time_cycles(cycles):
    from alerts.evaluation import evaluate_all

    totals, per_rule = [], {}
    for _ in range(cycles):
        t0 = time.perf_counter()
        results = evaluate_all(now=datetime.now(UTC))
        totals.append(time.perf_counter() - t0)
        for r in results:
            per_rule.setdefault(r.rule.key, []).append(float(r.duration_ms))
            if r.error:
                fail(f"rule {r.rule.key} failed: {r.error}")
    totals.sort()
    p95 = totals[min(len(totals) - 1, max(0, round(0.95 * len(totals)) - 1))]
    return {
        "cycle_p50_s": round(statistics.median(totals), 3),
        "cycle_p95_s": round(p95, 3),
        "cycle_max_s": round(totals[-1], 3),
        "rule_p95_ms": {
            k: round(sorted(v)[min(len(v) - 1, max(0, round(0.95 * len(v)) - 1))], 1)
            for k, v in sorted(per_rule.items())
        },
    }


def add(kind, ident, bucket, **figures):
    cols = list(figures)
    sql(
        "INSERT INTO dashboard_hourly_aggregate (scope_kind, scope_id, bucket, country, region, "
        f"city, currency, source, {', '.join(cols)}) VALUES (%s, %s, %s, 'SN', %s, 'Dakar', "
        f"'XOF', 'connect'{', %s' * len(cols)}) ON CONFLICT (scope_kind, scope_id, bucket, "
        "country, region, city, currency, source) DO UPDATE SET "
        + ", ".join(f"{c} = dashboard_hourly_aggregate.{c} + excluded.{c}" for c in cols),
        [kind, ident, bucket, MARK, *figures.values()],
    )


def accuracy(seed):
    """Scripted crossings at known simulated minutes; returns the comparison."""
    from alerts.evaluation import evaluate_all
    from alerts.models import Alert, AlertRule

    rng = random.Random(seed)
    T = now_hour()
    rules = {r.key: r for r in AlertRule.objects.all()}
    fraud_for = rules["fraud_rate_bps.max"].for_duration
    payout_for = rules["payout_failure_rate.max"].for_duration
    float_for = rules["agent_float.min"].for_duration
    merchants = rng.sample(range(N_MERCHANTS), 25)
    held_m = [f"bm_{n}" for n in merchants[:20]]
    short_m = [f"bm_{n}" for n in merchants[20:]]
    banks = [f"bb_{n}" for n in rng.sample(range(N_BANKS), 10)]
    agents = [f"bench_a{n}" for n in rng.sample(range(N_AGENTS), 30)]
    recover_at = 12
    # minute -> actions; expected (scope -> minute it fires) and resolutions at recover_at.
    script = {
        1: [("fraud", m) for m in held_m + short_m],
        2: [("payout", b) for b in banks],
        3: [("dilute", m) for m in short_m],
        4: [("float_low", a) for a in agents],
        recover_at: [("dilute", m) for m in held_m]
        + [("payout_ok", b) for b in banks]
        + [("float_ok", a) for a in agents],
    }
    minute = timedelta(minutes=1)
    expected_open = {}
    for m in held_m:
        expected_open[f"merchant:{m}"] = 1 + int(fraud_for / minute)
    for b in banks:
        expected_open[f"bank:{b}"] = 2 + int(payout_for / minute)
    for a in agents:
        expected_open[f"agent:{a}"] = 4 + int(float_for / minute)
    expected_resolved = {scope: recover_at for scope in expected_open}

    def act(action, ident):
        if action == "fraud":
            add("merchant", ident, T, fraud_amount=4000)  # >= 200 bps over the window
        elif action == "dilute":
            add("merchant", ident, T, gmv=10_000_000)  # < 5 bps
        elif action == "payout":
            add("bank", ident, T, payouts_count=30, payouts_failed_count=30)  # ~14 %
        elif action == "payout_ok":
            add("bank", ident, T, payouts_count=2000)  # ~1.5 %
        elif action == "float_low":
            sql("UPDATE agents_agent SET float_balance = 50000 WHERE agent_id = %s", [ident])
        elif action == "float_ok":
            sql("UPDATE agents_agent SET float_balance = 500000 WHERE agent_id = %s", [ident])

    reset_alert_state()
    start_id = Alert.objects.order_by("-id").values_list("id", flat=True).first() or 0
    opened, resolved = {}, {}
    for k in range(1, 15):
        for action, ident in script.get(k, []):
            act(action, ident)
        now = T + k * minute
        evaluate_all(now=now)
        for scope in Alert.objects.filter(id__gt=start_id, first_seen=now).values_list(
            "scope", flat=True
        ):
            opened.setdefault(scope, []).append(k)
        for scope in Alert.objects.filter(id__gt=start_id, resolved_at=now).values_list(
            "scope", flat=True
        ):
            resolved.setdefault(scope, []).append(k)
    # Leave the bench rows as they were (their figures), the scripted ones undone.
    for m in held_m + short_m:
        sql(
            "UPDATE dashboard_hourly_aggregate SET fraud_amount = fraud_amount - 4000, "
            "gmv = gmv - 10000000 WHERE scope_kind = 'merchant' AND scope_id = %s "
            "AND bucket = %s AND region = %s",
            [m, T, MARK],
        )
    for b in banks:
        sql(
            "UPDATE dashboard_hourly_aggregate SET payouts_count = payouts_count - 2030, "
            "payouts_failed_count = payouts_failed_count - 30 WHERE scope_kind = 'bank' "
            "AND scope_id = %s AND bucket = %s AND region = %s",
            [b, T, MARK],
        )
    reset_alert_state()
    fired_right = sum(1 for s, k in expected_open.items() if opened.get(s) == [k])
    resolved_right = sum(1 for s, k in expected_resolved.items() if resolved.get(s) == [k])
    unexpected = sorted(s for s in opened if s not in expected_open)
    expected_events = len(expected_open) + len(expected_resolved)
    return {
        "crossings_held": len(expected_open),
        "crossings_short": len(short_m),
        "fired_in_expected_cycle": fired_right,
        "resolved_in_expected_cycle": resolved_right,
        "unexpected_alerts": len(unexpected),
        "unexpected_examples": unexpected[:5],
        "accuracy": round((fired_right + resolved_right) / expected_events, 4),
        "exact": fired_right + resolved_right == expected_events and not unexpected,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception as exc:
        fail(f"dev database not reachable ({exc}): start the dev stack and migrate first")
    if args.clean:
        rows, agents = clean()
        print(json.dumps({"removed_rows": rows, "removed_agents": agents}))
        return
    have = bench_rows()
    fill_s = None
    if have < args.rows * 0.95:
        clean()
        print(f"filling ~{args.rows:,} aggregate rows ...", file=sys.stderr)
        fill_s = round(fill(args.rows), 1)
        have = bench_rows()
    reset_alert_state()
    timing = time_cycles(args.cycles)
    acc = accuracy(args.seed)
    result = {
        "aggregate_rows": have,
        "merchants": N_MERCHANTS,
        "agents": N_AGENTS,
        "banks": N_BANKS,
        "fill_s": fill_s,
        "cycles": args.cycles,
        **timing,
        "target_cycle_p95_s": 2.0,
        "cycle_p95_ok": timing["cycle_p95_s"] < 2.0,
        **acc,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
