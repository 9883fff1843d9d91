"""Realistic West African demo events (contract format), for produce_events, backfill_demo
and the benchmark.

Deterministic for a given seed. The demo accounts' tenants (merchant:m_1042,
agent:a_0001, bank:b_sgbs, region:SN) get a generous share of the traffic so
their dashboards are never empty. The agents are seed_demo's (agents.demo):
same ids, cities, currencies and positions, their float wandering around the
seeded balance, so an agent's float history never changes currency and the
events never move an agent away from where seed_demo put it.

Time shape (`intensity`): quiet nights, a lunchtime and an evening peak on
working days, a later, flatter day at weekends, Friday the busiest day and
Sunday the quietest. `DemoWorld.history` draws a past stretch with that shape
and two incidents (a bank failing payouts, a fraud burst on one merchant);
`produce_events --shaped` follows the same shape live.
"""

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from agents.demo import demo_agent_rows

# country -> (currency, [(city, region, lat, lon, weight)], [bank ids])
GEOGRAPHY = {
    "SN": (
        "XOF",
        [
            ("Dakar", "Dakar", 14.6928, -17.4467, 40),
            ("Thiès", "Thiès", 14.7910, -16.9256, 10),
            ("Touba", "Diourbel", 14.8500, -15.8833, 8),
            ("Saint-Louis", "Saint-Louis", 16.0179, -16.4896, 6),
            ("Kaolack", "Kaolack", 14.1520, -16.0726, 6),
            ("Ziguinchor", "Ziguinchor", 12.5681, -16.2719, 4),
        ],
        ["b_sgbs", "b_cbao", "b_bicis", "b_ecobank_sn"],
    ),
    "CI": (
        "XOF",
        [
            ("Abidjan", "Abidjan", 5.3600, -4.0083, 40),
            ("Bouaké", "Gbêkê", 7.6900, -5.0300, 8),
            ("Yamoussoukro", "Yamoussoukro", 6.8276, -5.2893, 5),
            ("San-Pédro", "San-Pédro", 4.7485, -6.6363, 4),
        ],
        ["b_sgci", "b_nsia", "b_ecobank_ci"],
    ),
    "ML": (
        "XOF",
        [
            ("Bamako", "Bamako", 12.6392, -8.0029, 20),
            ("Sikasso", "Sikasso", 11.3176, -5.6665, 4),
            ("Mopti", "Mopti", 14.4843, -4.1827, 3),
        ],
        ["b_bdm", "b_boa_ml"],
    ),
    "BF": (
        "XOF",
        [
            ("Ouagadougou", "Centre", 12.3714, -1.5197, 15),
            ("Bobo-Dioulasso", "Hauts-Bassins", 11.1771, -4.2979, 5),
        ],
        ["b_coris", "b_boa_bf"],
    ),
    "GH": (
        "GHS",
        [
            ("Accra", "Greater Accra", 5.6037, -0.1870, 18),
            ("Kumasi", "Ashanti", 6.6885, -1.6244, 7),
        ],
        ["b_gcb", "b_ecobank_gh"],
    ),
    "NG": (
        "NGN",
        [
            ("Lagos", "Lagos", 6.5244, 3.3792, 25),
            ("Abuja", "FCT", 9.0765, 7.3986, 8),
            ("Kano", "Kano", 12.0022, 8.5920, 6),
        ],
        ["b_gtbank", "b_uba", "b_access"],
    ),
    "BJ": ("XOF", [("Cotonou", "Littoral", 6.3703, 2.3912, 8)], ["b_boa_bj"]),
    "TG": ("XOF", [("Lomé", "Maritime", 6.1725, 1.2314, 7)], ["b_orabank"]),
    "NE": ("XOF", [("Niamey", "Niamey", 13.5116, 2.1254, 5)], ["b_sonibank"]),
    "GN": ("GNF", [("Conakry", "Conakry", 9.6412, -13.5784, 6)], ["b_bicigui"]),
}
COUNTRY_WEIGHTS = {"SN": 30, "CI": 20, "ML": 8, "BF": 7, "GH": 8, "NG": 12, "BJ": 5, "TG": 4,
                   "NE": 3, "GN": 3}  # fmt: skip

# (type, source, weight)
MIX = [
    ("payment.initiated", "connect", 28),
    ("payment.succeeded", "connect", 22),
    ("payment.failed", "connect", 4),
    ("refund.succeeded", "connect", 1.5),
    ("dispute.opened", "connect", 0.3),
    ("payout.completed", "connect", 1.5),
    ("payout.completed", "wallet", 1),
    ("payout.failed", "connect", 0.2),
    ("payout.failed", "wallet", 0.1),
    ("fraud.flagged", "connect", 0.3),
    ("fraud.flagged", "wallet", 0.1),
    ("transfer.completed", "wallet", 15),
    ("cash_in.completed", "wallet", 10),
    ("cash_out.completed", "wallet", 9),
    ("agent.float_updated", "wallet", 5),
]
DECIMALS = {"XOF": 0, "GNF": 0, "GHS": 2, "NGN": 2, "USD": 2, "EUR": 2}
# Typical ticket in each currency (median of a log-normal).
TICKET = {"XOF": 12000, "GNF": 150000, "GHS": 150, "NGN": 15000, "USD": 40, "EUR": 35}

DEMO_MERCHANT = "m_1042"
DEMO_AGENT = "a_0001"
DEMO_BANK = "b_sgbs"


# ---------------------------------------------------------------- time shape
# Relative traffic per UTC hour (local time in most of the region; UTC+1 in
# NG, BJ and NE): working days peak at lunchtime and in the evening, weekends
# start later and stay busy into the night.
# fmt: off
WORKDAY_HOURS = (0.10, 0.06, 0.04, 0.04, 0.06, 0.15, 0.35, 0.60, 0.80, 0.85, 0.85, 0.95,
                 1.00, 1.00, 0.80, 0.70, 0.75, 0.85, 0.95, 1.00, 0.90, 0.65, 0.40, 0.20)
WEEKEND_HOURS = (0.15, 0.10, 0.06, 0.05, 0.05, 0.08, 0.15, 0.30, 0.45, 0.60, 0.70, 0.75,
                 0.80, 0.80, 0.75, 0.75, 0.80, 0.85, 0.95, 1.00, 1.00, 0.80, 0.55, 0.30)
# fmt: on
DAY_FACTORS = (1.00, 0.97, 1.00, 1.02, 1.10, 0.85, 0.60)  # Monday .. Sunday
_WEEK_MEAN = sum(
    DAY_FACTORS[d] * (WEEKEND_HOURS if d >= 5 else WORKDAY_HOURS)[h]
    for d in range(7)
    for h in range(24)
) / (7 * 24)
# Mean events/s of the demo traffic (history and the live producer alike): a
# 30-day history of ~390,000 events, which `make up` produces and counts in
# well under a minute.
DEMO_RATE = 0.15
# The business grew this much over the last 30 days (the history ramps up to today).
GROWTH_30D = 0.15
HOUR = timedelta(hours=1)


def intensity(at):
    """The relative event rate at `at` (aware datetime): 1.0 is the weekly mean."""
    at = at.astimezone(UTC)
    day = at.weekday()
    hours = WEEKEND_HOURS if day >= 5 else WORKDAY_HOURS
    return DAY_FACTORS[day] * hours[at.hour] / _WEEK_MEAN


PAYOUT_FAILURES = "payout_failures"
FRAUD_BURST = "fraud_burst"


@dataclass(frozen=True)
class Incident:
    """A few abnormal hours of the demo history.

    `shares`: hour by hour from `start`, the extra events as a share of the
    hour's ordinary traffic (platform-wide), so an incident stands out the same
    at any rate.
    """

    kind: str
    start: datetime
    shares: tuple
    bank_id: str = ""
    country: str = ""
    merchant_id: str = ""

    @property
    def end(self):
        return self.start + HOUR * len(self.shares)

    def share(self, hour):
        """The share of the hour starting at `hour` (0 outside the incident)."""
        index = int((hour - self.start) / HOUR)
        return self.shares[index] if self.start <= hour and index < len(self.shares) else 0.0


class DemoWorld:
    """Merchants, agents and banks placed in real cities; draws contract events."""

    def __init__(self, seed=42, merchants=60, agents=300, merchant_prefix="m_", agent_prefix="a_"):
        self.rng = random.Random(seed)
        rng = self.rng
        countries = list(COUNTRY_WEIGHTS)
        cweights = list(COUNTRY_WEIGHTS.values())

        def place_in(cc=None):
            cc = cc or rng.choices(countries, cweights)[0]
            cities = GEOGRAPHY[cc][1]
            city, region, _lat, _lon, _ = rng.choices(cities, [c[4] for c in cities])[0]
            return cc, city, region

        # Merchants m_1001.. ; m_1042 is the demo merchant, in Dakar.
        self.merchants = []
        for n in range(merchants):
            mid = f"{merchant_prefix}{1001 + n}"
            if mid.endswith("_1042") and merchant_prefix == "m_":
                cc, city, region = "SN", "Dakar", "Dakar"
            else:
                cc, city, region = place_in()
            self.merchants.append((mid, cc, city, region))
        # Agents a_0001.. where seed_demo puts them, each with its float and the
        # seeded balance it wanders around: [id, country, city, region, lat,
        # lon, float, home float, currency].
        self.agents = [
            [f"{agent_prefix}{n:04d}", cc, city, region, lat, lon, balance, balance, currency]
            for n, (_, (city, region, cc, currency, *_), lat, lon, balance) in enumerate(
                demo_agent_rows(agents), start=1
            )
        ]
        self.types = [(t, s) for t, s, _ in MIX]
        self.type_weights = [w for _, _, w in MIX]
        # The merchant of the history's fraud burst: the first one in Abidjan
        # (any other merchant in a world without one), never the demo merchant.
        others = [m for m in self.merchants if m[0] != DEMO_MERCHANT] or self.merchants
        self.fraud_merchant = next((m for m in others if m[2] == "Abidjan"), others[0])

    def _money(self, currency):
        rng = self.rng
        value = TICKET[currency] * rng.lognormvariate(0, 0.9)
        places = DECIMALS[currency]
        amount = Decimal(str(round(value, places))) if places else Decimal(int(value) or 1)
        return amount.quantize(Decimal(1).scaleb(-places)) if places else amount

    def event(self, now=None, late_fraction=0.0, *, at=None):
        """One valid contract event (dict) occurring around `now`, or exactly `at`."""
        rng = self.rng
        if at is None:
            now = now or datetime.now(UTC)
            at = now - timedelta(seconds=rng.uniform(0, 5))
            if late_fraction and rng.random() < late_fraction:
                at = now - timedelta(hours=rng.uniform(1, 72))
        etype, source = rng.choices(self.types, self.type_weights)[0]
        return self._compose(at, etype, source)

    def _compose(self, at, etype, source, *, merchant=None, agent=None, bank_id=None):
        rng = self.rng
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": etype,
            "source": source,
            "occurred_at": at.isoformat(timespec="milliseconds"),
        }
        if source == "wallet":
            if agent is None:
                agent = self.agents[0] if rng.random() < 0.05 else rng.choice(self.agents)
            _, cc, city, region = agent[:4]
            if merchant is None and etype in ("transfer.completed", "payout.completed"):
                merchant = self._merchant() if rng.random() < 0.3 else None
        else:
            merchant = merchant or self._merchant()
            _, cc, city, region = merchant
        if merchant is not None:
            event["merchant_id"] = merchant[0]
        currency = GEOGRAPHY[cc][0]
        if etype != "agent.float_updated" and rng.random() < 0.03:
            currency = rng.choice(("USD", "EUR"))  # cross-border
        banks = GEOGRAPHY[cc][2]
        if bank_id is not None:
            event["bank_id"] = bank_id
        elif source == "connect" or rng.random() < 0.2:
            event["bank_id"] = banks[0] if rng.random() < 0.5 else rng.choice(banks)
        if agent is not None:
            event["agent_id"] = agent[0]
        event.update(country=cc, region=region, city=city)
        if etype == "agent.float_updated":
            # A random walk pulled back towards the seeded float: the history
            # stays in the agent's range and meets seed_demo's recent balances.
            currency = agent[8]
            delta = self._money(currency) * rng.choice((-1, 1)) * 3
            agent[6] = max(
                Decimal(0), agent[6] + delta + ((agent[7] - agent[6]) / 10).to_integral()
            )
            event.update(
                currency=currency,
                balance=str(agent[6]),
                location={"lat": agent[4], "lon": agent[5]},
            )
        elif etype not in ("payment.initiated", "payment.failed", "payout.failed"):
            amount = self._money(currency)
            event.update(currency=currency, amount=str(amount))
            if etype in ("payment.succeeded", "transfer.completed", "cash_in.completed",
                         "cash_out.completed"):  # fmt: skip
                q = Decimal(1).scaleb(-DECIMALS[currency])
                fee = (amount * Decimal("0.015")).quantize(q)
                cost = (amount * Decimal("0.004")).quantize(q)
                event.update(fee=str(fee), cost=str(cost))
        else:
            event["currency"] = currency
        if rng.random() < 0.1:
            event["metadata"] = {"channel": rng.choice(("app", "ussd", "web", "pos"))}
        return event

    def _merchant(self):
        if self.rng.random() < 0.1:
            for m in self.merchants:
                if m[0] == DEMO_MERCHANT:
                    return m
        return self.rng.choice(self.merchants)

    # ------------------------------------------------------------ history
    def incidents(self, end):
        """The incidents of a history ending at `end`: both inside the last 7 days.

        The demo bank (SN) fails payouts from 09:00 UTC five days before `end`'s
        day, for five hours; a merchant in Abidjan takes a burst of fraud flags
        and failed payments from 19:00 UTC two days before, for three hours.
        """
        day = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return (
            Incident(PAYOUT_FAILURES, day - timedelta(days=5) + 9 * HOUR,
                     (0.02, 0.05, 0.06, 0.05, 0.02), bank_id=DEMO_BANK, country="SN"),
            Incident(FRAUD_BURST, day - timedelta(days=2) + 19 * HOUR,
                     (0.04, 0.08, 0.05), merchant_id=self.fraud_merchant[0]),
        )  # fmt: skip

    def history(self, end, days=30, rate=DEMO_RATE):
        """Events of the `days` days before `end`, in time order (a generator).

        Each hour gets `rate` events/s on average times `intensity`, times the
        growth (the history ramps up to today's rate), with a little noise;
        the incidents add their events, and the failing bank's payouts of the
        ordinary traffic fail too.
        """
        rng = self.rng
        end = end.astimezone(UTC)
        start = end - timedelta(days=days)
        incidents = self.incidents(end)
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            lo, hi = max(hour, start), min(hour + HOUR, end)
            span = (hi - lo).total_seconds()
            age_days = (end - hour).total_seconds() / 86400
            growth = max(0.5, 1 - GROWTH_30D * age_days / 30)
            mean = rate * span * intensity(hour) * growth * rng.lognormvariate(0, 0.08)
            ordinary = math.floor(mean + rng.random())
            planned = [(rng.uniform(0, span), None) for _ in range(ordinary)]
            for incident in incidents:
                extra = math.floor(ordinary * incident.share(hour) + rng.random())
                planned += [(rng.uniform(0, span), incident) for _ in range(extra)]
            planned.sort(key=lambda p: p[0])
            failing = [i for i in incidents if i.kind == PAYOUT_FAILURES and i.share(hour)]
            for offset, incident in planned:
                at = lo + timedelta(seconds=offset)
                if incident is None:
                    event = self.event(at=at)
                    if failing and event["type"] == "payout.completed":
                        _fail_payout(event, failing[0])
                    yield event
                else:
                    yield self._incident_event(incident, at)
            hour += HOUR

    def _incident_event(self, incident, at):
        rng = self.rng
        if incident.kind == PAYOUT_FAILURES:
            if rng.random() < 0.2:
                local = [a for a in self.agents if a[1] == incident.country] or self.agents
                return self._compose(at, "payout.failed", "wallet", agent=rng.choice(local),
                                     bank_id=incident.bank_id)  # fmt: skip
            local = [m for m in self.merchants if m[1] == incident.country] or self.merchants
            return self._compose(at, "payout.failed", "connect", merchant=rng.choice(local),
                                 bank_id=incident.bank_id)  # fmt: skip
        merchant = next(m for m in self.merchants if m[0] == incident.merchant_id)
        etype = "fraud.flagged" if rng.random() < 0.6 else "payment.failed"
        event = self._compose(at, etype, "connect", merchant=merchant)
        if "amount" in event:
            # Fraud goes for big tickets.
            event["amount"] = str(Decimal(event["amount"]) * 4)
        return event

    # ------------------------------------------------------------ invalid events
    INVALID_KINDS = (
        "invalid_json",
        "missing_field",
        "unknown_type",
        "invalid_currency",
        "negative_amount",
        "future_timestamp",
        "invalid_country",
        "invalid_amount",
    )

    def spoil(self, event):
        """A copy of `event` broken in one way of the contract; returns (payload, reason)."""
        rng = self.rng
        kind = rng.choice(self.INVALID_KINDS)
        bad = dict(event)
        if kind == "invalid_json":
            return b'{"event_id": "' + event["event_id"].encode() + b'", "type": ', kind
        if kind == "missing_field":
            bad.pop(rng.choice(("type", "source", "occurred_at")))
        elif kind == "unknown_type":
            bad["type"] = "payment.teleported"
        elif kind == "invalid_currency":
            bad["currency"] = "CFA"
        elif kind == "negative_amount":
            bad.pop("balance", None)
            bad["type"], bad["source"] = "payment.succeeded", "connect"
            bad["currency"], bad["amount"] = bad.get("currency") or "XOF", "-500"
        elif kind == "future_timestamp":
            bad["occurred_at"] = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        elif kind == "invalid_country":
            bad["country"] = "Senegal"
        elif kind == "invalid_amount":
            bad.pop("balance", None)
            bad["type"], bad["source"] = "payment.succeeded", "connect"
            bad["currency"], bad["amount"] = bad.get("currency") or "XOF", "12.345678"
        return bad, kind


def _fail_payout(event, incident):
    """Turn an ordinary payout of the incident's bank and country into a failed one."""
    if event.get("bank_id") == incident.bank_id and event["country"] == incident.country:
        event["type"] = "payout.failed"
        for name in ("amount", "fee", "cost"):
            event.pop(name, None)


def message_key(event):
    """The contract's message key: merchant_id, else agent_id, else event_id."""
    if not isinstance(event, dict):
        return None
    key = event.get("merchant_id") or event.get("agent_id") or event.get("event_id")
    return key.encode() if isinstance(key, str) else None


def topic_for(event, wallet_topic, connect_topic):
    """Wallet events to the wallet topic, the rest to the connect topic."""
    source = event.get("source") if isinstance(event, dict) else None
    return wallet_topic if source == "wallet" else connect_topic
