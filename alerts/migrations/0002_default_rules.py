"""The default alert rules (issue 12): float, fraud, payouts, success rate, and the
system rules whose firing holds back the rules computed from stale aggregates."""

from datetime import timedelta
from decimal import Decimal

from django.db import migrations

DEFAULT_RULES = [
    {
        "key": "agent_float.min",
        "name": "Agent float under its limit",
        "metric": "agent_float_headroom",
        "scope": "each:agent",
        "comparator": "lt",
        "threshold": Decimal(0),
        "window": timedelta(hours=1),
        "for_duration": timedelta(0),
        "severity": "warning",
        "category": "float",
    },
    {
        "key": "fraud_rate_bps.max",
        "name": "Fraud rate above 150 bps",
        "metric": "fraud_rate_bps",
        "scope": "each:merchant",
        "comparator": "gt",
        "threshold": Decimal(150),
        "window": timedelta(hours=1),
        "for_duration": timedelta(minutes=5),
        "severity": "critical",
        "category": "fraud",
    },
    {
        "key": "payout_failure_rate.max",
        "name": "Payout failure rate above 5%",
        "metric": "payout_failure_rate",
        "scope": "each:bank",
        "comparator": "gt",
        "threshold": Decimal("0.05"),
        "window": timedelta(hours=1),
        "for_duration": timedelta(minutes=5),
        "severity": "critical",
        "category": "payout",
    },
    {
        "key": "success_rate.drop",
        "name": "Success rate 20% under last week",
        "metric": "success_rate",
        "scope": "each:country",
        "comparator": "lt",
        "threshold": Decimal(-20),
        "baseline": "last_week",
        "window": timedelta(hours=1),
        "for_duration": timedelta(minutes=10),
        "severity": "warning",
        "category": "payout",
    },
    {
        "key": "consumer.stalled",
        "name": "Event consumer stalled",
        "metric": "consumer_stalled",
        "scope": "platform",
        "comparator": "gt",
        "threshold": Decimal(0),
        "window": timedelta(minutes=1),
        "for_duration": timedelta(minutes=2),
        "severity": "critical",
        "category": "system",
        "inhibits": True,
    },
    {
        "key": "snapshots.stale",
        "name": "Snapshots stale (older than 15 minutes)",
        "metric": "snapshot_age_s",
        "scope": "platform",
        "comparator": "gt",
        "threshold": Decimal(900),
        "window": timedelta(minutes=1),
        "for_duration": timedelta(minutes=1),
        "severity": "critical",
        "category": "system",
        "inhibits": True,
    },
    {
        "key": "dead_letters.spike",
        "name": "Dead letters above 10 per minute",
        "metric": "dead_letters_per_minute",
        "scope": "platform",
        "comparator": "gt",
        "threshold": Decimal(10),
        "window": timedelta(minutes=5),
        "for_duration": timedelta(0),
        "severity": "warning",
        "category": "system",
    },
    {
        "key": "ops_approval.waiting",
        "name": "A high or critical ops action waits for approval over 15 minutes",
        "metric": "ops_oldest_high_pending_age_s",
        "scope": "platform",
        "comparator": "gt",
        "threshold": Decimal(900),
        "window": timedelta(minutes=1),
        "for_duration": timedelta(0),
        "severity": "warning",
        "category": "system",
    },
]


def create_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for rule in DEFAULT_RULES:
        key = rule["key"]
        AlertRule.objects.get_or_create(key=key, defaults={**rule, "labels": {}})


def drop_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.filter(key__in=[r["key"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(create_rules, drop_rules)]
