"""The audit log is append-only in the database and its hash chain shows tampering."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from common import dbroles
from opsactions import services
from opsactions.audit import AuditContext, audit_append, audit_verify
from opsactions.models import AuditEntry, OpsApproval

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(ops_admin, approver_b, request_action):
    action = request_action(ops_admin)
    services.action_approve(actor=approver_b, action_id=action.pk, comment="looks right")
    services.action_reject(actor=ops_admin_other(), action_id=action.pk, reason="no")
    return action


def ops_admin_other():
    from accounts.choices import Role
    from tests.factories import make_user

    return make_user("pay_z", Role.PAY_ADMIN)


def run_verify():
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def tamper(sql, params=()):
    """As the schema's owner: the application's role may not disable a trigger
    (tests/test_db_roles.py). Another connection, so the tests are transactional."""
    with dbroles.as_owner(), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(
            "ALTER TABLE opsactions_auditentry DISABLE TRIGGER opsactions_audit_append_only"
        )
        cur.execute(sql, params)
        cur.execute("ALTER TABLE opsactions_auditentry ENABLE TRIGGER opsactions_audit_append_only")


def test_verify_reports_ok_on_an_intact_chain(trail):
    assert run_verify().startswith(f"OK: {AuditEntry.objects.count()} audit rows verified")


def test_update_and_delete_are_blocked_by_the_trigger(trail):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(action_id=trail.pk).update(actor_username="someone_else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(action_id=trail.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        OpsApproval.objects.filter(action=trail).update(comment="edited")


@pytest.mark.django_db(transaction=True)
def test_modified_row_is_found_by_verify_audit(trail):
    victim = AuditEntry.objects.filter(action_id=trail.pk, event="approval").first()
    tamper(
        "UPDATE opsactions_auditentry SET after = jsonb_set(after, '{vote,comment}', "
        "'\"forged\"') WHERE seq = %s",
        [victim.seq],
    )
    with pytest.raises(CommandError, match=f"BROKEN at seq {victim.seq}: row content"):
        run_verify()


@pytest.mark.django_db(transaction=True)
def test_modified_row_with_recomputed_hash_breaks_the_next_link(trail):
    from opsactions.audit import entry_hash

    victim = AuditEntry.objects.filter(action_id=trail.pk, event="approval").first()
    victim.actor_username = "forger"
    new_hash = entry_hash(victim)
    tamper(
        "UPDATE opsactions_auditentry SET actor_username = 'forger', hash = %s WHERE seq = %s",
        [new_hash, victim.seq],
    )
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, victim.seq + 1)
    assert "prev_hash" in result.reason


@pytest.mark.django_db(transaction=True)
def test_deleted_row_is_found_by_verify_audit(trail):
    victim = AuditEntry.objects.filter(action_id=trail.pk).order_by("seq")[1]
    tamper("DELETE FROM opsactions_auditentry WHERE seq = %s", [victim.seq])
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, victim.seq + 1)
    assert "sequence gap" in result.reason


def test_rows_carry_actor_role_request_id_and_ip(db, ops_admin):
    with transaction.atomic():
        entry = audit_append(
            event="requested",
            actor=ops_admin,
            action_id=None,
            before={},
            after={"x": "1"},
            context=AuditContext(request_id="r-1", client_ip="::ffff:10.0.0.1"),
        )
    entry = AuditEntry.objects.get(seq=entry.seq)
    assert (entry.actor_username, entry.actor_role, entry.request_id) == (
        "ops_admin",
        "ops_admin",
        "r-1",
    )
    assert entry.client_ip
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_audit_append_outside_a_transaction_is_refused(ops_admin):
    with pytest.raises(RuntimeError, match="inside transaction"):
        audit_append(event="x", actor=ops_admin)
    assert not AuditEntry.objects.exists()
