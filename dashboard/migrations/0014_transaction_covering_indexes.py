"""Transactions: the scope indexes carry the columns a drill-down sums (index-only day sums).

A drill-down sum over one day of a scope (docs/transactions.md) reads every event
of that scope and day: a bank's day at the density of 50M events a month is ~50,000
rows spread over nearly every heap page of the day's partition (bench/transactions.py:
p95 282 ms). With the summed and filtered columns INCLUDEd in the merchant, agent and
bank indexes the sum is an index-only scan (the day's partition, once closed, is
all-visible after autovacuum's insert-triggered runs): ~20 ms for the same day. The
keys are unchanged, so the keyset pages read them as before. Measured cost to the
raw-event COPY: within the noise of bench runs (docs/ingestion.md).

Rebuilt on the partitioned parent, so every day partition (and each new one) gets
them; on a large table this migration rebuilds the three indexes of every day.
"""

from django.db import migrations

COVERED = "INCLUDE (type, source, currency, amount, fee, cost)"


def _index(party, include=""):
    return (
        f"CREATE INDEX dashboard_transaction_{party} ON dashboard_transaction "
        f"({party}_id, occurred_at, event_id) {include} WHERE {party}_id IS NOT NULL"
    ).replace("  ", " ")


PARTIES = ("merchant", "agent", "bank")


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0013_scope_kind_choices")]

    operations = [
        migrations.RunSQL(
            [f"DROP INDEX dashboard_transaction_{p}" for p in PARTIES]
            + [_index(p, COVERED) for p in PARTIES],
            reverse_sql=[f"DROP INDEX dashboard_transaction_{p}" for p in PARTIES]
            + [_index(p) for p in PARTIES],
        )
    ]
