"""Dead letters in the Django admin: browse, re-process (accountable), never delete."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.urls import reverse

from dashboard.ingest.services import ingest
from dashboard.models import DeadLetter, HourlyAggregate

pytestmark = pytest.mark.django_db


def test_admin_lists_dead_letters_with_payload_and_reason(admin_client, ingest_event):
    ingest([b"\x00garbage", ingest_event(currency="XXY")])
    response = admin_client.get(reverse("admin:dashboard_deadletter_changelist"))
    assert response.status_code == 200
    assert b"invalid_json" in response.content and b"invalid_currency" in response.content
    letter = DeadLetter.objects.get(reason="invalid_currency")
    detail = admin_client.get(reverse("admin:dashboard_deadletter_change", args=[letter.id]))
    assert detail.status_code == 200 and b"XXY" in detail.content


def test_reprocess_action_counts_a_now_valid_letter_once_and_records_who(
    admin_client, admin_user, ingest_event
):
    # Six minutes ahead: a dead letter now, valid once the clock has moved on.
    soon = datetime.now(UTC) + timedelta(minutes=6)
    event = ingest_event(merchant_id="m_replay", occurred_at=soon.isoformat())
    bad = ingest_event(merchant_id="m_replay", currency="EURO")
    ingest([event, bad])
    letters = list(DeadLetter.objects.order_by("reason"))
    assert [d.reason for d in letters] == ["future_timestamp", "invalid_currency"]
    # Pretend the clock moved on by rewriting the stored bytes' timestamp.
    fixed = dict(event, occurred_at=(soon - timedelta(minutes=10)).isoformat())
    DeadLetter.objects.filter(reason="future_timestamp").update(payload=orjson.dumps(fixed))

    url = reverse("admin:dashboard_deadletter_changelist")
    ids = [str(d.id) for d in letters]
    for _ in range(2):  # the second time it is a duplicate, not a second count
        response = admin_client.post(
            url, {"action": "reprocess_selected", "_selected_action": ids}, follow=True
        )
        assert response.status_code == 200
    replayed = DeadLetter.objects.get(reason="future_timestamp")
    assert replayed.status == "duplicate" and replayed.reprocessed_by == admin_user
    still = DeadLetter.objects.get(reason="invalid_currency")
    assert still.status == "still_invalid"
    row = HourlyAggregate.objects.get(scope_kind="merchant", scope_id="m_replay")
    assert row.success_count == 1


def test_dead_letters_cannot_be_deleted_or_added_in_admin(admin_client):
    assert admin_client.get(reverse("admin:dashboard_deadletter_add")).status_code == 403
