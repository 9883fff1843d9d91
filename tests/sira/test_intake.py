"""Intake by API: sira_service only, one or a list, idempotent, 400 naming the field."""

import pytest

from sira.choices import RecStatus
from sira.models import Recommendation, RecommendationAudit
from tests.sira.conftest import payload

URL = "/api/dashboard/sira/recommendations"
pytestmark = pytest.mark.django_db


def test_contract_example_is_taken_in_with_validated_params(client_for, sira_service):
    body = payload()
    resp = client_for(sira_service).post(URL, body, format="json")
    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["status"] == "new" and data["ops_action"] is None
    assert data["action"] == {
        "action_type": "SET_HOLD",
        "params": {"kind": "percent", "percent": "20", "days": 7},
    }
    rec = Recommendation.objects.get(external_id=body["external_id"])
    assert str(rec.confidence) == "0.9100"
    assert RecommendationAudit.objects.filter(recommendation=rec, event="received").count() == 1


def test_redelivery_never_duplicates(client_for, sira_service):
    client = client_for(sira_service)
    body = payload()
    first = client.post(URL, body, format="json")
    again = client.post(URL, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    listed = client.post(URL, [body, body], format="json")
    assert listed.status_code == 201
    assert [r["result"] for r in listed.json()["results"]] == ["duplicate", "duplicate"]
    assert Recommendation.objects.filter(external_id=body["external_id"]).count() == 1


@pytest.mark.parametrize(
    "over, field",
    [
        (
            {"action": {"action_type": "SET_HOLD", "params": {"percent": "120", "days": 7}}},
            "action.params.percent",
        ),
        (
            {"action": {"action_type": "SET_HOLD", "params": {"percent": "20", "days": 7, "x": 1}}},
            "action.params.x",
        ),
        (
            {"action": {"action_type": "ROUTE_PAYOUT", "params": {"bank_id": "b_1"}}},
            "action.action_type",
        ),
        ({"target": "agent:a_1"}, "target"),
        ({"target": "merchant:"}, "target"),
        ({"confidence": 1.5}, "confidence"),
        ({"priority": "urgent"}, "priority"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"model": {"name": "sira-risk"}}, "model.version"),
        (
            {"explanation": {"summary": "x", "features": [{"name": "f", "value": "1"}]}},
            "explanation.features.0.contribution",
        ),
        ({"type": "release_hold"}, "type"),
    ],
)
def test_bad_item_is_a_400_naming_the_field(client_for, sira_service, over, field):
    resp = client_for(sira_service).post(URL, payload(**over), format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()["errors"], resp.json()
    assert not Recommendation.objects.exists()


def test_list_keeps_the_good_items_and_reports_the_bad(client_for, sira_service):
    good1, good2 = payload(), payload(target="merchant:m_2")
    bad = payload(confidence="x")
    resp = client_for(sira_service).post(URL, [good1, bad, good2, "nope"], format="json")
    assert resp.status_code == 400
    data = resp.json()
    assert [r["result"] for r in data["results"]] == ["created", "invalid", "created", "invalid"]
    assert "1.confidence" in data["errors"] and "3.non_field_errors" in data["errors"]
    assert (data["created"], data["invalid"]) == (2, 2)
    assert set(Recommendation.objects.values_list("external_id", flat=True)) == {
        good1["external_id"],
        good2["external_id"],
    }


@pytest.mark.parametrize("who", ["ops_admin", "pay_admin", "finance_ops", "merchant_admin_m1"])
def test_only_sira_service_may_publish(client_for, request, who):
    resp = client_for(request.getfixturevalue(who)).post(URL, payload(), format="json")
    assert resp.status_code == 403
    assert not Recommendation.objects.exists()


def test_anonymous_cannot_publish(api_client):
    assert api_client.post(URL, payload(), format="json").status_code == 401


def test_newer_recommendation_supersedes_the_older(make_rec):
    old = make_rec()
    other_target = make_rec(target="merchant:m_9")
    new = make_rec()
    old.refresh_from_db()
    other_target.refresh_from_db()
    assert old.status == RecStatus.SUPERSEDED and old.superseded_by_id == new.pk
    assert other_target.status == RecStatus.NEW
    assert old.audit.filter(event="superseded").exists()
