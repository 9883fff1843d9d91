"""The admin ops console calls the same services: same rules, same audit."""

import pytest
from django.test import Client

from opsactions.choices import ActionStatus
from opsactions.models import AuditEntry

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/opsactions/opsaction/"


def logged_in(user):
    client = Client(REMOTE_ADDR="192.0.2.7")
    client.force_login(user)
    return client


def bulk(client, verb, action, comment="", confirm=True):
    data = {"action": f"{verb}_selected", "_selected_action": [action.pk]}
    if confirm:
        data.update(confirm="yes", comment=comment)
    return client.post(CHANGELIST, data, follow=True)


def test_changelist_and_detail_show_progress_and_audit(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    client = logged_in(approver_b)
    page = client.get(CHANGELIST).content.decode()
    assert "FREEZE_MERCHANT" in page and "0 of 2" in page
    detail = client.get(f"{CHANGELIST}{action.pk}/change/").content.decode()
    assert "fraud_suspected" in detail and "requested" in detail
    assert "transition/approve/" in detail
    assert client.get(f"{CHANGELIST}?awaiting_my_approval=yes").status_code == 200


def test_bulk_action_shows_confirmation_before_acting(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    response = bulk(logged_in(approver_b), "approve", action, confirm=False)
    assert "please confirm" in response.content.decode()
    action.refresh_from_db()
    assert action.approvals.count() == 0


def test_two_approvals_in_admin_approve_with_audit(
    ops_admin, approver_b, pay_admin, request_action
):
    action = request_action(ops_admin)
    bulk(logged_in(approver_b), "approve", action, "ok")
    bulk(logged_in(pay_admin), "approve", action, "ok too")
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    vote = AuditEntry.objects.filter(action_id=action.pk, event="approval").first()
    assert vote.client_ip == "192.0.2.7" and vote.request_id


def test_self_approval_refused_in_admin(super_ops, request_action):
    action = request_action(super_ops)
    response = bulk(logged_in(super_ops), "approve", action, "mine")
    assert "self_approval" in response.content.decode()
    assert action.approvals.count() == 0


def test_reject_needs_a_reason_in_admin(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    response = bulk(logged_in(approver_b), "reject", action, "")
    assert "is required" in response.content.decode()
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    bulk(logged_in(approver_b), "reject", action, "not justified")
    action.refresh_from_db()
    assert action.status == ActionStatus.REJECTED


def test_per_object_execute_and_rollback(ops_admin, approver_b, pay_admin, request_action):
    action = request_action(ops_admin)
    bulk(logged_in(approver_b), "approve", action)
    bulk(logged_in(pay_admin), "approve", action)
    url = f"{CHANGELIST}{action.pk}/transition/"
    client = logged_in(pay_admin)
    assert "please confirm" in client.get(url + "execute/").content.decode()
    client.post(url + "execute/", {"confirm": "yes"})
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    client.post(url + "rollback/", {"confirm": "yes", "comment": "false alarm"})
    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED  # a rollback takes two people
    logged_in(ops_admin).post(url + "rollback/", {"confirm": "yes", "comment": "agreed"})
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK


def test_admin_cannot_edit_or_delete(ops_admin, request_action):
    action = request_action(ops_admin)
    client = logged_in(ops_admin)
    client.post(f"{CHANGELIST}{action.pk}/change/", {"params": "{}"})
    assert client.post(f"{CHANGELIST}{action.pk}/delete/").status_code == 403
    action.refresh_from_db()
    assert action.params == {"reason_code": "fraud_suspected"}
    assert client.get("/admin/opsactions/auditentry/").status_code == 200
    assert client.get("/admin/opsactions/auditentry/1/delete/").status_code == 403


def test_merchant_admin_has_no_console(merchant_admin_m1):
    merchant_admin_m1.is_staff = True  # even if someone made them staff by mistake
    merchant_admin_m1.save()
    assert logged_in(merchant_admin_m1).get(CHANGELIST).status_code == 403
