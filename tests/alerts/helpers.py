"""Helpers of the alerts tests: aggregate rows at chosen hours, a rule evaluated at a time."""

from datetime import UTC, datetime, timedelta

from tests.dashboard.test_snapshots_support import insert_agg


def hour(n=0):
    """The start of the UTC hour n hours before the current one."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=n)


def merchant_traffic(merchant, bucket, *, gmv, fraud_amount=0, attempts=10, **kw):
    insert_agg(
        "merchant", merchant, bucket, gmv=gmv, fraud_amount=fraud_amount, attempts=attempts, **kw
    )


def bank_payouts(bank, bucket, *, payouts, failed):
    insert_agg("bank", bank, bucket, payouts_count=payouts, payouts_failed_count=failed)
