"""Reads of the agents app.

Interface used by dashboard snapshots:
"""


def agent_float_totals(scope):
    """Sum of the latest float balance of every agent in `scope` (accounts.scope.Scope),
    per currency: {"XOF": Decimal(...)}. platform: all agents; agent:ID: that agent;
    region:CC: agents of country CC; merchant and bank scopes: {}.
    """
    raise NotImplementedError
