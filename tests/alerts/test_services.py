"""alert_raise (idempotent per fingerprint), acknowledge and resolve."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alerts import services
from alerts.choices import AlertStatus
from alerts.models import Alert, AlertEvent, AlertRule
from common.errors import Conflict, NotAllowed, NotFound, ValidationFailed

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _raise(**kw):
    args = {
        "source": "sira",
        "category": "fraud",
        "severity": "critical",
        "scope": "merchant:m_1",
        "title": "Fraud pattern",
        "dedupe_key": "sira:m_1:pattern",
        "now": T0,
    }
    args.update(kw)
    return services.alert_raise(**args)


@pytest.mark.django_db
def test_raise_twice_counts_occurrences_of_one_alert():
    first = _raise(value="212.5")
    second = _raise(value="230", now=T0 + timedelta(minutes=1))
    assert first.pk == second.pk
    alert = Alert.objects.get()
    assert alert.occurrences == 2
    assert alert.first_seen == T0
    assert alert.last_seen == T0 + timedelta(minutes=1)
    assert alert.value == Decimal("230")
    assert alert.merchant_id == "m_1"
    assert [e.kind for e in AlertEvent.objects.order_by("id")] == ["opened", "repeated"]


@pytest.mark.django_db
def test_acknowledged_alert_still_deduplicates_but_resolved_one_does_not(ops_admin):
    alert = _raise()
    services.alert_acknowledge(actor=ops_admin, alert_id=alert.pk, comment="looking")
    assert _raise().pk == alert.pk
    services.alert_resolve(actor=ops_admin, alert_id=alert.pk, comment="fixed")
    again = _raise()
    assert again.pk != alert.pk
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.RESOLVED
    assert Alert.objects.get(pk=alert.pk).resolved_by == ops_admin


@pytest.mark.django_db
def test_threshold_alerts_fingerprint_by_rule_and_series():
    rule = AlertRule.objects.get(key="fraud_rate_bps.max")
    a = _raise(source="threshold", rule=rule, dedupe_key="", scope="merchant:m_1")
    b = _raise(source="threshold", rule=rule, dedupe_key="", scope="merchant:m_2")
    c = _raise(source="threshold", rule=rule, dedupe_key="", scope="merchant:m_1")
    assert a.pk == c.pk != b.pk


@pytest.mark.django_db
def test_bad_input_is_a_validation_error():
    with pytest.raises(ValidationFailed):
        _raise(severity="urgent")
    with pytest.raises(ValidationFailed):
        _raise(scope="nowhere")
    with pytest.raises(ValidationFailed):
        _raise(dedupe_key="")


@pytest.mark.django_db
def test_acknowledge_twice_conflicts_and_other_tenant_gets_not_found(
    merchant_admin_m1, merchant_admin_m2
):
    alert = _raise()
    with pytest.raises(NotFound):
        services.alert_acknowledge(actor=merchant_admin_m2, alert_id=alert.pk)
    services.alert_acknowledge(actor=merchant_admin_m1, alert_id=alert.pk, comment="seen")
    with pytest.raises(Conflict):
        services.alert_acknowledge(actor=merchant_admin_m1, alert_id=alert.pk)
    event = AlertEvent.objects.get(kind="acknowledged")
    assert (event.actor, event.comment) == (merchant_admin_m1, "seen")


@pytest.mark.django_db
def test_manual_alerts_are_staff_only(ops_admin, merchant_admin_m1):
    with pytest.raises(NotAllowed):
        services.alert_create_manual(
            actor=merchant_admin_m1,
            category="system",
            severity="info",
            scope="merchant:m_1",
            title="x",
        )
    alert = services.alert_create_manual(
        actor=ops_admin, category="system", severity="info", scope="platform", title="Maintenance"
    )
    assert (alert.source, alert.created_by) == ("manual", ops_admin)
