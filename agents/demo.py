"""Demo agents around real West African cities (used by `manage.py seed_demo`)."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

# (city, region, country, currency, lat, lon, weight)
CITIES = [
    ("Dakar", "Dakar", "SN", "XOF", 14.7167, -17.4677, 60),
    ("Thiès", "Thiès", "SN", "XOF", 14.7910, -16.9256, 20),
    ("Saint-Louis", "Saint-Louis", "SN", "XOF", 16.0179, -16.4896, 12),
    ("Touba", "Diourbel", "SN", "XOF", 14.8500, -15.8833, 12),
    ("Kaolack", "Kaolack", "SN", "XOF", 14.1520, -16.0726, 10),
    ("Ziguinchor", "Ziguinchor", "SN", "XOF", 12.5681, -16.2719, 8),
    ("Abidjan", "Lagunes", "CI", "XOF", 5.3600, -4.0083, 45),
    ("Bouaké", "Vallée du Bandama", "CI", "XOF", 7.6906, -5.0301, 12),
    ("Yamoussoukro", "Yamoussoukro", "CI", "XOF", 6.8276, -5.2893, 8),
    ("Bamako", "Bamako", "ML", "XOF", 12.6392, -8.0029, 25),
    ("Ouagadougou", "Centre", "BF", "XOF", 12.3714, -1.5197, 20),
    ("Bobo-Dioulasso", "Hauts-Bassins", "BF", "XOF", 11.1771, -4.2979, 8),
    ("Cotonou", "Littoral", "BJ", "XOF", 6.3703, 2.3912, 18),
    ("Lomé", "Maritime", "TG", "XOF", 6.1725, 1.2314, 15),
    ("Niamey", "Niamey", "NE", "XOF", 13.5116, 2.1254, 12),
    ("Conakry", "Conakry", "GN", "GNF", 9.6412, -13.5784, 10),
]
DEMO_AGENT_COUNT = 300
LOW_FLOAT_THRESHOLD = Decimal("100000")


def demo_agent_rows(count=DEMO_AGENT_COUNT, seed=42):
    """Deterministic demo agents: (agent_id, city row, lat, lon, balance). a_0001 is in Dakar."""
    rng = random.Random(seed)
    weights = [c[6] for c in CITIES]
    rows = []
    for i in range(1, count + 1):
        city = CITIES[0] if i == 1 else rng.choices(CITIES, weights)[0]
        spread = 0.0 if i == 1 else 0.035
        lat = round(city[4] + rng.gauss(0, spread), 6)
        lon = round(city[5] + rng.gauss(0, spread), 6)
        scale = Decimal(1000) if city[3] == "GNF" else Decimal(1)
        balance = Decimal(rng.randrange(5, 400) * 5000) * scale
        rows.append((f"a_{i:04d}", city, lat, lon, balance))
    return rows


def seed_demo_agents(now=None):
    """Create or refresh the demo agents with 24 h of float history and sales (idempotent)."""
    from agents.models import Agent, AgentSalesHour
    from agents.services import FloatColumns, agent_floats_apply, agent_map_refresh

    now = now or datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    rows = demo_agent_rows()
    rng = random.Random(7)
    updates = []
    for agent_id, city, lat, lon, balance in rows:
        for back in range(0, 24, 3):
            at = hour - timedelta(hours=back) + timedelta(minutes=1)
            drift = Decimal(rng.randrange(-20, 20) * 1000) * back
            updates.append(
                {
                    "agent_id": agent_id,
                    "balance": max(balance + drift, Decimal(0)),
                    "currency": city[3],
                    "occurred_at": at,
                    "country": city[2],
                    "region": city[1],
                    "city": city[0],
                    "lat": lat,
                    "lon": lon,
                    "event_id": f"demo-{agent_id}-{at:%Y%m%d%H}",
                }
            )
    agent_floats_apply(FloatColumns.of(updates))
    Agent.objects.filter(agent_id__in=[r[0] for r in rows]).update(
        low_float_threshold=LOW_FLOAT_THRESHOLD
    )
    # Sales rows are inserted only where missing, so re-running never doubles them.
    sales = []
    for agent_id, city, _lat, _lon, _balance in rows:
        scale = 1000 if city[3] == "GNF" else 1
        for back in range(24):
            sales.append(
                AgentSalesHour(
                    agent_id=agent_id,
                    bucket=hour - timedelta(hours=back),
                    currency=city[3],
                    cash_in_amount=Decimal(rng.randrange(0, 60) * 2500 * scale),
                    cash_out_amount=Decimal(rng.randrange(0, 60) * 2500 * scale),
                )
            )
    AgentSalesHour.objects.bulk_create(sales, ignore_conflicts=True, batch_size=2000)
    agent_map_refresh(now=now)
    return len(rows)
