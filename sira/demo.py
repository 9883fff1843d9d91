"""Demo SIRA recommendations, taken in through the real intake (validated and audited like
SIRA's own). Used by `manage.py seed_demo`; runs only while there is no recommendation."""

from datetime import timedelta

from django.utils import timezone

from sira.choices import Origin
from sira.models import Recommendation
from sira.services import recommendation_ingest

MODEL = {"name": "sira-risk", "version": "2026.11.3"}


def _items():
    return [
        {
            "external_id": "demo-sira-0001",
            "type": "set_hold",
            "target": "merchant:m_1055",
            "priority": "high",
            "confidence": 0.91,
            "action": {"action_type": "SET_HOLD", "params": {"percent": "20", "days": 7}},
            "explanation": {
                "summary": "Chargebacks tripled in 48 h",
                "features": [
                    {"name": "chargeback_rate_48h", "value": "0.031", "contribution": 0.42},
                    {"name": "refund_ratio_7d", "value": "0.12", "contribution": 0.21},
                    {"name": "account_age_days", "value": "410", "contribution": -0.08},
                ],
            },
            "impact": {
                "cost_savings": {"amount": "1500000", "currency": "XOF"},
                "risk_reduction": 0.35,
            },
        },
        {
            "external_id": "demo-sira-0002",
            "type": "route_payout",
            "target": "region:SN",
            "priority": "medium",
            "confidence": 0.78,
            "action": {"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_cbao"}},
            "explanation": {
                "summary": "Payout failures concentrated at one bank in Senegal",
                "features": [
                    {"name": "failed_share_24h", "value": "0.64", "contribution": 0.55},
                    {"name": "failure_rate_gap", "value": "0.07", "contribution": 0.3},
                ],
            },
            "impact": {"risk_reduction": 0.2},
        },
        {
            "external_id": "demo-sira-0003",
            "type": "adjust_threshold",
            "target": "platform",
            "priority": "low",
            "confidence": 0.66,
            "action": {
                "action_type": "ADJUST_THRESHOLD",
                "params": {"key": "fraud_rate_bps.max", "value": "120"},
            },
            "explanation": {
                "summary": "Fraud alerts fire late: a lower threshold would catch spikes sooner",
                "features": [{"name": "median_fraud_bps_30d", "value": "38", "contribution": 0.4}],
            },
        },
    ]


def seed_demo_recommendations():
    """Take in the demo recommendations unless any exists; returns how many were created."""
    if Recommendation.objects.exists():
        return 0
    valid_until = (timezone.now() + timedelta(days=2)).isoformat()
    created = 0
    for item in _items():
        _rec, new = recommendation_ingest(
            data={**item, "model": MODEL, "valid_until": valid_until}, origin=Origin.API
        )
        created += new
    return created
