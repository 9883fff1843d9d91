"""Writes of the agents app. Ingestion calls the batch functions inside its own
transaction (same connection), so they must be fast multi-row statements.

Interface (agreed with dashboard ingestion and opsactions executors):
"""


def agent_floats_apply(updates):
    """Apply a batch of float updates; the latest occurred_at wins per agent.

    `updates`: list of dicts with keys agent_id, balance (Decimal, may be
    negative), currency, occurred_at (aware datetime), country, region, city,
    lat, lon (None when the event had no location), event_id. Unknown agents
    are created. Also keeps each agent's last balance per UTC hour.
    """
    raise NotImplementedError


def agent_sales_apply(rows):
    """Add cash-in/cash-out sales of a batch, pre-aggregated per agent, hour and currency.

    `rows`: list of dicts with keys agent_id, bucket (aware datetime, UTC hour),
    currency, cash_in_amount (Decimal), cash_out_amount (Decimal), last_seen
    (aware datetime: newest occurred_at of the group), country, region, city.
    Unknown agents are created.
    """
    raise NotImplementedError


def agent_set_status(*, agent_id, status):
    """Set an agent's status (AgentStatus: active | frozen); returns the previous status."""
    raise NotImplementedError


def agent_set_float_limit(*, agent_id, float_limit):
    """Set an agent's float limit (Decimal); returns the previous limit."""
    raise NotImplementedError
