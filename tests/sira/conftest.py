"""Fixtures of the SIRA tests: a valid contract payload and a helper to take one in."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from sira import services
from sira.choices import Origin

_seq = itertools.count(1)


def payload(**over):
    """A valid recommendation as the contract shows it (a fresh external_id each call)."""
    body = {
        "external_id": f"sira-test-{next(_seq):05d}",
        "type": "set_hold",
        "target": "merchant:m_1042",
        "priority": "medium",
        "confidence": 0.91,
        "action": {"action_type": "SET_HOLD", "params": {"percent": "20", "days": 7}},
        "explanation": {
            "summary": "Chargebacks tripled in 48 h",
            "features": [{"name": "chargeback_rate_48h", "value": "0.031", "contribution": 0.42}],
        },
        "model": {"name": "sira-risk", "version": "2026.11.3"},
        "impact": {
            "cost_savings": {"amount": "1500000", "currency": "XOF"},
            "risk_reduction": 0.35,
        },
        "valid_until": (timezone.now() + timedelta(days=1)).isoformat(),
    }
    body.update(over)
    return body


@pytest.fixture
def make_rec(db):
    """make_rec(**payload overrides) -> a Recommendation taken in through the service."""

    def make(**over):
        rec, created = services.recommendation_ingest(data=payload(**over), origin=Origin.API)
        assert created
        return rec

    return make
