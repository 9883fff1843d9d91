"""Independent reference for the end-to-end test: contract events and their expected figures.

Nothing here imports product code: the figures are recomputed in plain Python
(Decimal) from ../shared/contracts/events.md and api.md, so a bug shared by the
product's own helpers cannot hide.
"""

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as tz
from decimal import ROUND_HALF_UP, Decimal

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ZERO = Decimal(0)
FOUR = Decimal("0.0001")

COUNTS = (
    "attempts",
    "success_count",
    "failed_count",
    "refunds_count",
    "disputes_count",
    "payouts_count",
    "payouts_failed_count",
    "fraud_count",
)
MONEY = (
    "gmv",
    "fees",
    "revenue",
    "refunds_amount",
    "disputes_amount",
    "payouts_amount",
    "fraud_amount",
    "cash_in_amount",
    "cash_out_amount",
)
# events.md "Types and what they count": type -> (count, amount figure, fee/revenue, sources)
TYPES = {
    "payment.initiated": ("attempts", None, False, ("connect",)),
    "payment.succeeded": ("success_count", "gmv", True, ("connect",)),
    "payment.failed": ("failed_count", None, False, ("connect",)),
    "refund.succeeded": ("refunds_count", "refunds_amount", False, ("connect",)),
    "dispute.opened": ("disputes_count", "disputes_amount", False, ("connect",)),
    "payout.completed": ("payouts_count", "payouts_amount", False, ("wallet", "connect")),
    "payout.failed": ("payouts_failed_count", None, False, ("wallet", "connect")),
    "fraud.flagged": ("fraud_count", "fraud_amount", False, ("wallet", "connect")),
    "transfer.completed": ("success_count", "gmv", True, ("wallet",)),
    "cash_in.completed": (None, "cash_in_amount", True, ("wallet",)),
    "cash_out.completed": (None, "cash_out_amount", True, ("wallet",)),
    "agent.float_updated": (None, None, False, ("wallet",)),
}
MONEY_TYPES = {t for t, rule in TYPES.items() if rule[1]}
REPORTING = "XOF"

COUNTRIES = {
    # country -> (currency, [(region, city)])
    "SN": ("XOF", [("Dakar", "Dakar"), ("Thies", "Thies"), ("Dakar", "Pikine")]),
    "CI": ("XOF", [("Abidjan", "Abidjan")]),
    "ML": ("XOF", [("Bamako", "Bamako")]),
    "GH": ("GHS", [("Greater Accra", "Accra"), ("Ashanti", "Kumasi")]),
    "NG": ("NGN", [("Lagos", "Lagos"), ("FCT", "Abuja")]),
}
CURRENCIES = ("XOF", "GHS", "NGN")
MERCHANTS = {"m_1": "SN", "m_2": "SN", "m_3": "CI", "m_4": "GH", "m_5": "NG", "m_6": "ML"}
AGENTS = {"a_1": "SN", "a_2": "SN", "a_3": "CI", "a_4": "GH", "a_5": "NG", "a_6": "ML"}
BANKS = ("b_sgbs", "b_ecobank", "b_gtb")


def money(d):
    """api.md money string: exact decimal, no exponent, no trailing zeros, "0" for zero."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def floor_hour(t):
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(t):
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def parse_api_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------- generation


@dataclass
class Generated:
    """What the producer sends, in phases, and the valid events the reference counts."""

    now: datetime
    phases: list = field(default_factory=list)  # [[(topic_kind, key, bytes)], ...]
    valid: dict = field(default_factory=dict)  # event_id -> event dict (first delivery)
    invalid: list = field(default_factory=list)  # [(bytes, reason)]
    deliveries: int = 0
    duplicate_deliveries: int = 0


class _Num:
    """An amount sent as a JSON number (not a string): spliced into the JSON text."""

    def __init__(self, text):
        self.text = text


def encode(event):
    """Event dict -> JSON bytes; _Num values become bare JSON numbers."""
    nums = {}

    def default(o):
        if isinstance(o, _Num):
            marker = f"@@num{len(nums)}@@"
            nums[marker] = o.text
            return marker
        raise TypeError(type(o))

    text = json.dumps(event, default=default, ensure_ascii=False)
    for marker, num in nums.items():
        text = text.replace(f'"{marker}"', num)
    return text.encode()


def _amount(rng, *, big=False):
    """A random non-negative amount with 0-4 decimals, as text."""
    units = rng.choice([rng.randint(1, 999), rng.randint(1000, 999999), rng.randint(10**6, 10**8)])
    if big:
        units = rng.randint(10**11, 10**13)
    places = rng.choice([0, 0, 1, 2, 3, 4, 4])
    frac = rng.randint(0, 10**places - 1) if places else 0
    return f"{units}.{frac:0{places}d}" if places else str(units)


def _ts(t, rng):
    """RFC 3339 with an offset: mostly +00:00, sometimes Z or a non-UTC offset."""
    style = rng.random()
    if style < 0.15:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style < 0.3:
        return t.astimezone(tz(timedelta(hours=rng.choice([1, -5, 3, -1])))).isoformat()
    return t.astimezone(UTC).isoformat()


def _edges(now):
    """Nominal window edges at `now` (hour-aligned): keep events 10+ minutes away from them."""
    to = floor_hour(now) + HOUR
    edges = [to - HOUR * 24, to - DAY * 7, to - DAY * 14, to - DAY * 30, to - DAY * 60]
    return edges


def _when(rng, now):
    """An occurred_at in the last 60 days, weighted to recent, away from window edges."""
    edges = _edges(now)
    while True:
        r = rng.random()
        if r < 0.4:
            age = timedelta(seconds=rng.randint(60, 24 * 3600))
        elif r < 0.65:
            age = timedelta(seconds=rng.randint(24 * 3600, 7 * 86400))
        elif r < 0.85:
            age = timedelta(seconds=rng.randint(7 * 86400, 30 * 86400))
        else:
            age = timedelta(seconds=rng.randint(30 * 86400, 60 * 86400 - 1800))
        t = now - age
        if all(abs(t - e) > timedelta(minutes=10) for e in edges):
            return t


def _base(rng, n, etype, source, t):
    return {"event_id": f"e2e-{n:06d}-{rng.getrandbits(32):08x}", "type": etype,
            "source": source, "occurred_at": _ts(t, rng)}  # fmt: skip


def _geo(rng, event, country):
    if rng.random() < 0.05:
        return  # no country: "ZZ"
    event["country"] = country
    region, city = rng.choice(COUNTRIES[country][1])
    if rng.random() < 0.9:
        event["region"] = region
    if rng.random() < 0.85:
        event["city"] = city


def _currency(rng, country):
    home = COUNTRIES[country][0]
    return home if rng.random() < 0.85 else rng.choice(CURRENCIES)


def _money_value(rng, text):
    return _Num(text) if rng.random() < 0.2 else text


def _business_event(rng, n, now):
    etype = rng.choice([t for t in TYPES if t != "agent.float_updated"])
    sources = TYPES[etype][3]
    source = rng.choice(sources)
    t = _when(rng, now)
    e = _base(rng, n, etype, source, t)
    if source == "connect" or etype == "transfer.completed":
        merchant = rng.choice(list(MERCHANTS))
        if rng.random() < 0.92:
            e["merchant_id"] = merchant
        country = MERCHANTS[merchant]
        if rng.random() < 0.6:
            e["bank_id"] = rng.choice(BANKS)
    else:
        agent = rng.choice(list(AGENTS))
        country = AGENTS[agent]
        if rng.random() < 0.9 or etype in ("cash_in.completed", "cash_out.completed"):
            e["agent_id"] = agent
        if rng.random() < 0.3:
            e["bank_id"] = rng.choice(BANKS)
    if etype in ("cash_in.completed", "cash_out.completed") and rng.random() < 0.1:
        e.pop("agent_id")
    _geo(rng, e, country)
    if etype in MONEY_TYPES:
        e["currency"] = _currency(rng, country)
        e["amount"] = _money_value(rng, _amount(rng, big=rng.random() < 0.01))
    elif rng.random() < 0.5:
        e["currency"] = _currency(rng, country)  # a count-only event that names its currency
    if etype in MONEY_TYPES and rng.random() < 0.8:
        # fee/cost also on types that do not count them (they must be ignored there)
        e["fee"] = _money_value(rng, _amount(rng))
        if rng.random() < 0.7:
            e["cost"] = _money_value(rng, _amount(rng))
    if rng.random() < 0.1:
        e["metadata"] = {"order": n, "note": "carried, not counted"}
    if rng.random() < 0.05:
        e["unknown_extra"] = {"ignored": True}
    return e


def _float_event(rng, n, agent, t):
    country = AGENTS[agent]
    e = _base(rng, n, "agent.float_updated", "wallet", t)
    e["agent_id"] = agent
    e["country"] = country
    e["region"], e["city"] = COUNTRIES[country][1][0]
    currency = COUNTRIES[country][0]
    if currency != REPORTING or rng.random() < 0.7:
        e["currency"] = currency  # without one, the float is in the reporting currency
    sign = "-" if rng.random() < 0.1 else ""
    e["balance"] = _money_value(rng, sign + _amount(rng))
    if rng.random() < 0.5:
        e["location"] = {"lat": 14.7 + rng.random() / 10, "lon": -17.4 + rng.random() / 10}
    return e


def _invalid_events(now):
    """(payload bytes, reason) for every dead-letter reason code of the contract."""
    ok = (now - timedelta(hours=3)).isoformat()
    fine = {"type": "payment.succeeded", "source": "connect", "occurred_at": ok,
            "merchant_id": "m_1", "country": "SN", "currency": "XOF", "amount": "100"}  # fmt: skip

    def ev(i, **changes):
        e = {"event_id": f"bad-{i:03d}", **fine, **changes}
        return encode({k: v for k, v in e.items() if v is not None})

    cases = [
        (b"not json at all", "invalid_json"),
        (b"[1, 2, 3]", "invalid_json"),
        (b'{"event_id": "bad-trunc", "type": ', "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (encode({**fine}), "missing_field"),  # no event_id
        (ev(1, occurred_at=None), "missing_field"),
        (ev(2, amount=None), "missing_field"),
        (
            ev(3, type="agent.float_updated", source="wallet", agent_id="a_1", amount=None),
            "missing_field",
        ),  # no balance
        (ev(4, currency=None), "missing_field"),
        (encode({**fine, "event_id": "x" * 65}), "invalid_field"),
        (ev(5, merchant_id=""), "invalid_field"),
        (ev(6, region="R" * 65), "invalid_field"),
        (ev(7, metadata=["not", "an", "object"]), "invalid_field"),
        (ev(8, type="payment.refunded"), "unknown_type"),
        (ev(9, source="bank"), "invalid_source"),
        (ev(10, source="wallet"), "invalid_source"),  # payment.succeeded is connect-only
        (ev(11, occurred_at="2026-11-27 10:15"), "invalid_timestamp"),
        (ev(12, occurred_at="yesterday"), "invalid_timestamp"),
        (
            ev(13, occurred_at=(now - timedelta(hours=2)).replace(tzinfo=None).isoformat()),
            "invalid_timestamp",
        ),
        (ev(14, occurred_at=(now + timedelta(days=1)).isoformat()), "future_timestamp"),
        (ev(15, occurred_at=(now + timedelta(minutes=30)).isoformat()), "future_timestamp"),
        (ev(16, currency="EURO"), "invalid_currency"),
        (ev(17, currency="xof"), "invalid_currency"),
        (ev(18, country="SEN"), "invalid_country"),
        (ev(19, country="sn"), "invalid_country"),
        (ev(20, amount="12.34567"), "invalid_amount"),
        (ev(21, amount="1e5"), "invalid_amount"),
        (ev(22, amount="100000000000000"), "invalid_amount"),
        (ev(23, amount="abc"), "invalid_amount"),
        (ev(24, amount=_Num("1.23456")), "invalid_amount"),
        (ev(25, amount="-5"), "negative_amount"),
        (ev(26, fee="-1"), "negative_amount"),
        (ev(27, cost=_Num("-0.5")), "negative_amount"),
        (
            ev(
                28,
                type="agent.float_updated",
                source="wallet",
                agent_id="a_1",
                balance="10",
                location={"lat": 91, "lon": 0},
            ),
            "invalid_location",
        ),  # fmt: skip
        (
            ev(
                29,
                type="agent.float_updated",
                source="wallet",
                agent_id="a_1",
                balance="10",
                location="Dakar",
            ),
            "invalid_location",
        ),  # fmt: skip
    ]
    return cases


def generate(now, *, seed=20261127, n_business=2600, floats_per_agent=25):
    """Two delivery phases of contract events (phase 2: redeliveries, late and stale floats)."""
    rng = random.Random(seed)
    g = Generated(now=now)
    events = []
    n = 0
    for _ in range(n_business):
        n += 1
        events.append(_business_event(rng, n, now))
    # Two events 2 minutes in the future: within the 5-minute tolerance, so valid.
    for _ in range(2):
        n += 1
        e = _base(rng, n, "payment.succeeded", "connect", now + timedelta(minutes=2))
        e.update(merchant_id="m_1", country="SN", currency="XOF", amount="7.5", fee="0.25")
        events.append(e)
    # Edges of the amount rule: the largest valid amount, zero, a JSON integer, a tiny fee.
    for etype, amount, fee in (
        ("payment.succeeded", "99999999999999.9999", "0.0001"),
        ("refund.succeeded", "0", None),
        ("transfer.completed", _Num("5"), _Num("0.0001")),
    ):
        n += 1
        source = "wallet" if etype == "transfer.completed" else "connect"
        e = _base(rng, n, etype, source, now - timedelta(hours=5, minutes=7))
        e.update(merchant_id="m_2", bank_id="b_sgbs", country="SN", currency="XOF", amount=amount)
        if fee is not None:
            e["fee"] = fee
        events.append(e)
    floats_early, floats_late = [], []
    for agent in AGENTS:
        times = sorted({_when(rng, now) for _ in range(floats_per_agent)})
        for i, t in enumerate(times):
            n += 1
            e = _float_event(rng, n, agent, t)
            # Phase 2 gets some stale updates (older than the latest of phase 1) and
            # one newer one per agent for half of the agents.
            if i == len(times) - 1 and agent in ("a_2", "a_4", "a_6"):
                floats_late.append(e)
            elif rng.random() < 0.2:
                floats_late.append(e)
            else:
                floats_early.append(e)
    rng.shuffle(floats_early)  # out of order within a phase too
    for e in events + floats_early + floats_late:
        g.valid[e["event_id"]] = e

    business_late = [e for e in events if rng.random() < 0.12]
    late_ids = {e["event_id"] for e in business_late}
    phase1 = [e for e in events if e["event_id"] not in late_ids] + floats_early
    rng.shuffle(phase1)
    phase1_bytes = [(e, encode(e)) for e in phase1]
    # Same-phase duplicates (same bytes delivered again, often in another batch).
    dup1 = rng.sample(phase1_bytes, 180)
    phase2_events = business_late + floats_late
    rng.shuffle(phase2_events)
    phase2_bytes = [(e, encode(e)) for e in phase2_events]
    # Phase-2 redeliveries of phase-1 events (counted in an earlier consumer run).
    dup2 = rng.sample(phase1_bytes, 120) + rng.sample(phase2_bytes, 30)
    dup2 += rng.sample(dup1, 20)  # a third delivery of some
    # The same events re-serialized by the producer (same event_id and instant, other
    # bytes: occurred_at in another offset, amount as a string): still counted once.
    for e, _raw in rng.sample(phase1_bytes, 25):
        again = dict(e)
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00"))
        again["occurred_at"] = at.astimezone(tz(timedelta(hours=-3))).isoformat()
        if isinstance(e.get("amount"), _Num):
            again["amount"] = e["amount"].text
        dup2.append((again, encode(again)))

    def routed(pairs):
        out = []
        for e, raw in pairs:
            kind = "wallet" if e["source"] == "wallet" else "connect"
            key = e.get("merchant_id") or e.get("agent_id") or e["event_id"]
            out.append((kind, key.encode(), raw))
        return out

    p1 = routed(phase1_bytes)
    for item in routed(dup1):
        p1.insert(rng.randint(0, len(p1)), item)
    bad = _invalid_events(now)
    for raw, reason in bad:
        g.invalid.append((raw, reason))
    for raw, _reason in bad[: len(bad) // 2]:
        p1.insert(rng.randint(0, len(p1)), (rng.choice(["wallet", "connect"]), b"bad", raw))
    p2 = routed(phase2_bytes)
    for item in routed(dup2):
        p2.insert(rng.randint(0, len(p2)), item)
    for raw, _reason in bad[len(bad) // 2 :]:
        p2.insert(rng.randint(0, len(p2)), (rng.choice(["wallet", "connect"]), b"bad", raw))
    g.phases = [p1, p2]
    g.deliveries = len(p1) + len(p2)
    g.duplicate_deliveries = len(dup1) + len(dup2)
    return g


# ---------------------------------------------------------------------- reference


def _dec(value):
    return Decimal(value.text if isinstance(value, _Num) else value)


@dataclass(frozen=True)
class Fact:
    """One valid, deduplicated event as the reference sees it."""

    event_id: str
    type: str
    source: str
    at: datetime  # UTC
    hour: datetime
    currency: str
    amount: Decimal
    fee: Decimal
    cost: Decimal
    merchant: str | None
    agent: str | None
    bank: str | None
    country: str
    region: str
    city: str
    balance: Decimal | None


def facts(valid):
    out = []
    for e in valid.values():
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(UTC)
        out.append(
            Fact(
                event_id=e["event_id"],
                type=e["type"],
                source=e["source"],
                at=at,
                hour=floor_hour(at),
                currency=e.get("currency", ""),
                amount=_dec(e.get("amount", "0")),
                fee=_dec(e.get("fee", "0")),
                cost=_dec(e.get("cost", "0")),
                merchant=e.get("merchant_id"),
                agent=e.get("agent_id"),
                bank=e.get("bank_id"),
                country=e.get("country", "ZZ"),
                region=e.get("region", ""),
                city=e.get("city", ""),
                balance=_dec(e["balance"]) if "balance" in e else None,
            )
        )
    return out


def in_scope(f, scope):
    if scope == "platform":
        return True
    kind, _, ident = scope.partition(":")
    if kind == "region":
        return f.country == ident
    return {"merchant": f.merchant, "agent": f.agent, "bank": f.bank}[kind] == ident


class RateTable:
    """FX rates into XOF: the latest rate dated on or before a day."""

    def __init__(self, rows):
        self.rows = defaultdict(list)
        for currency, day, rate in rows:
            self.rows[currency].append((day, Decimal(rate)))
        for v in self.rows.values():
            v.sort()

    def rate(self, currency, day):
        if currency == REPORTING:
            return Decimal(1)
        found = None
        for d, r in self.rows.get(currency, []):
            if d <= day:
                found = r
        return found


def ratio(num, den):
    return None if not den else Decimal(num) / Decimal(den)


def figures(fs, rates):
    """counts, amounts, rates and converted of the (already scoped and windowed) facts."""
    counts = dict.fromkeys(COUNTS, 0)
    amounts = {}
    payment_successes = 0
    conv_parts = defaultdict(lambda: defaultdict(lambda: ZERO))  # (cur, day) -> figure -> sum
    for f in fs:
        count, amount_fig, fee, _ = TYPES[f.type]
        if f.type == "agent.float_updated":
            continue
        if count:
            counts[count] += 1
        if f.type == "payment.succeeded":
            payment_successes += 1
        deltas = {}
        if amount_fig:
            deltas[amount_fig] = f.amount
        if fee:
            deltas["fees"] = f.fee
            deltas["revenue"] = f.fee - f.cost
        if f.currency:
            per = amounts.setdefault(f.currency, dict.fromkeys(MONEY, ZERO))
            for k, v in deltas.items():
                per[k] += v
                if k in ("gmv", "revenue", "fraud_amount"):
                    conv_parts[(f.currency, f.at.date())][k] += v
    converted = dict.fromkeys(("gmv", "revenue", "fraud_amount"), ZERO)
    missing = set()
    for (currency, day), sums in conv_parts.items():
        if not any(sums.values()):
            continue
        rate = rates.rate(currency, day)
        if rate is None:
            missing.add(currency)
            continue
        for k, v in sums.items():
            converted[k] += (v * rate).quantize(FOUR, rounding=ROUND_HALF_UP)
    sc, fc = counts["success_count"], counts["failed_count"]
    fraud_bps = None
    if not missing and converted["gmv"]:
        fraud_bps = 10000 * converted["fraud_amount"] / converted["gmv"]
    return {
        "counts": counts,
        # "one object per currency seen in the period": also a currency only
        # count-only events named (its money figures all "0").
        "amounts": {c: {k: money(v) for k, v in per.items()} for c, per in amounts.items()},
        "rates": {
            "conversion_rate": ratio(payment_successes, counts["attempts"]),
            "success_rate": ratio(sc, sc + fc),
            "fraud_rate_bps": fraud_bps,
        },
        "converted": {
            "currency": REPORTING,
            **{k: money(v) for k, v in converted.items()},
            "missing_rates": sorted(missing),
        },
    }


def window(fs, scope, frm, to):
    return [f for f in fs if frm <= f.hour < to and in_scope(f, scope)]


def floats(fs, scope):
    """Sum of the latest balance (by occurred_at) of each agent in scope, per currency."""
    kind, _, ident = scope.partition(":")
    if kind in ("merchant", "bank"):
        return {}
    latest = {}
    for f in fs:
        if f.type != "agent.float_updated":
            continue
        kept = latest.get(f.agent)
        if kept is None or f.at > kept.at:
            latest[f.agent] = f
    totals = defaultdict(lambda: ZERO)
    for agent, f in latest.items():
        if kind == "agent" and agent != ident:
            continue
        if kind == "region" and f.country != ident:
            continue
        totals[f.currency or REPORTING] += f.balance
    return {c: money(v) for c, v in sorted(totals.items())}


def top(fs, scope, frm, to, key, rates, limit=10):
    """Top keys by converted GMV: each (key, day, currency) sum at that day's rate."""
    sums = defaultdict(lambda: ZERO)
    for f in window(fs, scope, frm, to):
        if TYPES[f.type][1] == "gmv":
            sums[(getattr(f, key), f.at.date(), f.currency)] += f.amount
    conv = defaultdict(lambda: ZERO)
    missing = defaultdict(set)
    for (k, day, currency), v in sums.items():
        if k is None or not v:
            continue
        rate = rates.rate(currency, day)
        if rate is None:
            missing[k].add(currency)
            conv[k] += 0
            continue
        conv[k] += (v * rate).quantize(FOUR, rounding=ROUND_HALF_UP)
    ranked = sorted(conv, key=lambda k: (-conv[k], k))[:limit]
    return [(k, money(conv[k]), sorted(missing[k])) for k in ranked]


def hourly_sparkline(fs, scope, frm, to, rates):
    per = defaultdict(lambda: defaultdict(lambda: ZERO))  # hour -> (currency) -> gmv
    for f in window(fs, scope, frm, to):
        if TYPES[f.type][1] == "gmv":
            per[f.hour][f.currency] += f.amount
    points = []
    t = frm
    while t < to:
        total = ZERO
        for currency, v in per[t].items():
            rate = rates.rate(currency, t.date())
            if rate is not None and v:
                total += (v * rate).quantize(FOUR, rounding=ROUND_HALF_UP)
        points.append({"t": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": money(total)})
        t += HOUR
    return points


def series(fs, scope, metric, frm, to, step, currency=None, source=None, **geo):
    """Zero-filled points of a metric over [frm, to) in `step` buckets (hour or UTC day),
    optionally cut by currency, source and country/region/city (events.md "Scopes")."""
    buckets = defaultdict(list)
    for f in window(fs, scope, frm, to):
        if f.type == "agent.float_updated":
            continue
        if currency is not None and f.currency != currency:
            continue
        if source is not None and f.source != source:
            continue
        if any(getattr(f, k) != v for k, v in geo.items()):
            continue
        start = f.hour if step == HOUR else floor_day(f.at)
        buckets[start].append(f)
    points = []
    t = frm
    while t < to:
        sums = defaultdict(lambda: ZERO)
        for f in buckets.get(t, []):
            count, amount_fig, fee, _ = TYPES[f.type]
            if count:
                sums[count] += 1
            if f.type == "payment.succeeded":
                sums["payment_successes"] += 1
            if amount_fig:
                sums[amount_fig] += f.amount
            if fee:
                sums["fees"] += f.fee
                sums["revenue"] += f.fee - f.cost
        if metric in COUNTS:
            value = int(sums[metric])
        elif metric in MONEY:
            value = money(sums[metric])
        elif metric == "sales":
            value = money(sums["cash_in_amount"] + sums["cash_out_amount"])
        elif metric == "conversion_rate":
            value = ratio(sums["payment_successes"], sums["attempts"])
        elif metric == "success_rate":
            value = ratio(sums["success_count"], sums["success_count"] + sums["failed_count"])
        elif metric == "fraud_rate_bps":
            value = ratio(10000 * sums["fraud_amount"], sums["gmv"])
        else:
            raise ValueError(metric)
        points.append((t.strftime("%Y-%m-%dT%H:%M:%SZ"), value))
        t += step
    return points


def rate_rows(today):
    """FX rows (currency, day, rate) for the 62 days involved; NGN has none for the oldest days."""
    rows = []
    for back in range(62, -1, -1):
        day = today - timedelta(days=back)
        # GHS moves daily, with up to 10 decimals (the column's scale).
        rows.append(("GHS", day, f"{Decimal('39.80') + Decimal(back) / 7:.10f}"))
        if back <= 40 and back % 3 == 0:
            rows.append(("NGN", day, f"{Decimal('0.3950') + Decimal(back) / 1000:.4f}"))
    return rows


def days_between(first: date, last: date):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def agent_state(fs, agent, sales_start):
    """What the agent detail shows: latest float, sales over [sales_start, ...) in the float's
    currency, the last float of every hour, and sales per hour and currency."""
    floats_ = sorted((f for f in fs if f.type == "agent.float_updated" and f.agent == agent),
                     key=lambda f: f.at)  # fmt: skip
    latest = floats_[-1]
    currency = latest.currency or REPORTING
    per_hour = {}
    for f in floats_:
        per_hour[f.hour] = f  # sorted by time: the last one of each hour stays
    sales = defaultdict(lambda: [ZERO, ZERO])
    for f in fs:
        if f.agent == agent and f.type in ("cash_in.completed", "cash_out.completed"):
            sales[(f.hour, f.currency)][f.type == "cash_out.completed"] += f.amount
    sales_24h = sum(
        (a + b for (hour, cur), (a, b) in sales.items() if cur == currency and hour >= sales_start),
        ZERO,
    )
    return {
        "float_balance": money(latest.balance),
        "currency": currency,
        "float_updated_at": latest.at,
        "country": latest.country,
        "sales_24h": money(sales_24h),
        "float_history": {
            h: (money(f.balance), f.currency or REPORTING, f.at) for h, f in per_hour.items()
        },
        "sales": {
            (h, cur): (money(a), money(b), money(a + b)) for (h, cur), (a, b) in sales.items()
        },
    }


def as_of(fs, scope, frm, to):
    """api.md `as_of`: the newest occurred_at counted in the window (float gauges count
    nothing there), to the second; None when nothing was counted."""
    times = [f.at for f in window(fs, scope, frm, to) if f.type != "agent.float_updated"]
    return max(times).strftime("%Y-%m-%dT%H:%M:%SZ") if times else None
