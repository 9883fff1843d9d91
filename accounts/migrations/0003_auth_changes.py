"""A row per statement that changes what an identity copy holds, written by triggers.

The dashboard reads trust a copy of each user's check (dashboard/api/identity.py).
Saves through the ORM drop it at once (signals); these triggers also see what no
signal reports (a bulk `QuerySet.update`, raw SQL, a restore): the beat task
`accounts.tasks.check_auth_changes` voids every copy when the rows change
(accounts/revocation.py). Statement-level, after the statement: one row per
statement whatever it touched, visible when its transaction commits. A user's
`last_login` (written at every sign-in) is not among the watched columns.
"""

from django.db import migrations

WATCHED_USER_COLUMNS = "username, is_active, is_superuser, role, scope_kind, scope_id"
M2M_TABLES = ("accounts_user_groups", "accounts_user_user_permissions", "auth_group_permissions")

FORWARD = f"""
CREATE TABLE accounts_auth_change (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL
);
CREATE FUNCTION accounts_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounts_auth_change (source) VALUES (TG_TABLE_NAME || ' ' || TG_OP);
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_user_auth_changed
    AFTER UPDATE OF {WATCHED_USER_COLUMNS} OR DELETE OR TRUNCATE ON accounts_user
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auth_changed();
""" + "".join(
    f"""
CREATE TRIGGER {table}_auth_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auth_changed();
"""
    for table in M2M_TABLES
)

BACKWARD = (
    "".join(f"DROP TRIGGER IF EXISTS {t}_auth_changed ON {t};" for t in M2M_TABLES)
    + """
DROP TRIGGER IF EXISTS accounts_user_auth_changed ON accounts_user;
DROP FUNCTION IF EXISTS accounts_auth_changed();
DROP TABLE IF EXISTS accounts_auth_change;
"""
)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
