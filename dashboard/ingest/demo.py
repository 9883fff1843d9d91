"""Realistic West African demo events (contract format), for produce_events and the benchmark.

Deterministic for a given seed. The demo accounts' tenants (merchant:m_1042,
agent:a_0001, bank:b_sgbs, region:SN) get a generous share of the traffic so
their dashboards are never empty.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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


class DemoWorld:
    """Merchants, agents and banks placed in real cities; draws contract events."""

    def __init__(self, seed=42, merchants=60, agents=300, merchant_prefix="m_", agent_prefix="a_"):
        self.rng = random.Random(seed)
        rng = self.rng
        countries = list(COUNTRY_WEIGHTS)
        cweights = list(COUNTRY_WEIGHTS.values())
        self.places = []
        for cc in countries:
            for city, region, lat, lon, w in GEOGRAPHY[cc][1]:
                self.places.append((cc, city, region, lat, lon, w))

        def place_in(cc=None):
            cc = cc or rng.choices(countries, cweights)[0]
            cities = GEOGRAPHY[cc][1]
            city, region, lat, lon, _ = rng.choices(cities, [c[4] for c in cities])[0]
            return cc, city, region, lat, lon

        # Merchants m_1001.. ; m_1042 is the demo merchant, in Dakar.
        self.merchants = []
        for n in range(merchants):
            mid = f"{merchant_prefix}{1001 + n}"
            if mid.endswith("_1042") and merchant_prefix == "m_":
                cc, city, region, lat, lon = "SN", "Dakar", "Dakar", 14.6928, -17.4467
            else:
                cc, city, region, lat, lon = place_in()
            self.merchants.append((mid, cc, city, region))
        # Agents a_0001.. with a home position jittered around their city.
        self.agents = []
        for n in range(agents):
            aid = f"{agent_prefix}{n + 1:04d}"
            if aid == DEMO_AGENT:
                cc, city, region, lat, lon = "SN", "Dakar", "Dakar", 14.6928, -17.4467
            else:
                cc, city, region, lat, lon = place_in()
            lat += rng.uniform(-0.04, 0.04)
            lon += rng.uniform(-0.04, 0.04)
            currency = GEOGRAPHY[cc][0]
            float_balance = Decimal(rng.randint(50, 2000) * 1000) if currency == "XOF" else None
            if float_balance is None:
                float_balance = Decimal(rng.randint(500, 20000)) * (10 if currency == "NGN" else 1)
            self.agents.append([aid, cc, city, region, round(lat, 5), round(lon, 5), float_balance])
        self.types = [(t, s) for t, s, _ in MIX]
        self.type_weights = [w for _, _, w in MIX]

    def _money(self, currency):
        rng = self.rng
        value = TICKET[currency] * rng.lognormvariate(0, 0.9)
        places = DECIMALS[currency]
        amount = Decimal(str(round(value, places))) if places else Decimal(int(value) or 1)
        return amount.quantize(Decimal(1).scaleb(-places)) if places else amount

    def event(self, now=None, late_fraction=0.0):
        """One valid contract event (dict) occurring around `now`."""
        rng = self.rng
        now = now or datetime.now(UTC)
        etype, source = rng.choices(self.types, self.type_weights)[0]
        occurred = now - timedelta(seconds=rng.uniform(0, 5))
        if late_fraction and rng.random() < late_fraction:
            occurred = now - timedelta(hours=rng.uniform(1, 72))
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": etype,
            "source": source,
            "occurred_at": occurred.isoformat(timespec="milliseconds"),
        }
        agent = None
        if source == "wallet":
            agent = self.agents[0] if rng.random() < 0.05 else rng.choice(self.agents)
            _, cc, city, region = agent[:4]
            if etype in ("transfer.completed", "payout.completed") and rng.random() < 0.3:
                merchant = self._merchant()
                event["merchant_id"] = merchant[0]
        else:
            merchant = self._merchant()
            event["merchant_id"] = merchant[0]
            _, cc, city, region = merchant
        currency = GEOGRAPHY[cc][0]
        if etype != "agent.float_updated" and rng.random() < 0.03:
            currency = rng.choice(("USD", "EUR"))  # cross-border
        banks = GEOGRAPHY[cc][2]
        if source == "connect" or rng.random() < 0.2:
            event["bank_id"] = banks[0] if rng.random() < 0.5 else rng.choice(banks)
        if agent is not None:
            event["agent_id"] = agent[0]
        event.update(country=cc, region=region, city=city)
        if etype == "agent.float_updated":
            delta = self._money(currency) * rng.choice((-1, 1))
            agent[6] = max(Decimal(0), agent[6] + delta * 3)
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
