"""Database-enforced immutability: the audit log and the votes are append-only, and an
action's frozen fields (type, target, params, their hash, reason, duration, requester,
risk and quorum) cannot change after creation, whoever writes (ORM, admin, raw SQL).

TRUNCATE is not blocked by a trigger here, because the test suite resets tables with
TRUNCATE; in production the application role must not own these tables (TRUNCATE
needs the TRUNCATE privilege, which it is not granted). verify_audit detects it anyway.
"""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION opsactions_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: append-only table', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER opsactions_audit_append_only
    BEFORE UPDATE OR DELETE ON opsactions_auditentry
    FOR EACH ROW EXECUTE FUNCTION opsactions_refuse_change();

CREATE TRIGGER opsactions_approval_append_only
    BEFORE UPDATE OR DELETE ON opsactions_opsapproval
    FOR EACH ROW EXECUTE FUNCTION opsactions_refuse_change();

CREATE OR REPLACE FUNCTION opsactions_action_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ops actions cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.action_type IS DISTINCT FROM OLD.action_type
       OR NEW.target IS DISTINCT FROM OLD.target
       OR NEW.subject IS DISTINCT FROM OLD.subject
       OR NEW.params IS DISTINCT FROM OLD.params
       OR NEW.params_hash IS DISTINCT FROM OLD.params_hash
       OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.effect_duration IS DISTINCT FROM OLD.effect_duration
       OR NEW.requested_by_id IS DISTINCT FROM OLD.requested_by_id
       OR NEW.risk_level IS DISTINCT FROM OLD.risk_level
       OR NEW.required_approvals IS DISTINCT FROM OLD.required_approvals
       OR NEW.required_role IS DISTINCT FROM OLD.required_role
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'ops action % is frozen: its parameters cannot change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER opsactions_action_frozen
    BEFORE UPDATE OR DELETE ON opsactions_opsaction
    FOR EACH ROW EXECUTE FUNCTION opsactions_action_frozen();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS opsactions_action_frozen ON opsactions_opsaction;
DROP TRIGGER IF EXISTS opsactions_approval_append_only ON opsactions_opsapproval;
DROP TRIGGER IF EXISTS opsactions_audit_append_only ON opsactions_auditentry;
DROP FUNCTION IF EXISTS opsactions_action_frozen();
DROP FUNCTION IF EXISTS opsactions_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("opsactions", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
