"""Which permissions each role's group gets. Read by the migration that creates the groups."""

from accounts.choices import Role

# Custom permissions, declared on accounts.User.Meta.permissions.
PERMISSIONS = [
    ("view_platform", "Can view platform-wide and any tenant's dashboards"),
    ("view_own_tenant", "Can view the dashboards of its own tenant scope"),
    ("request_ops_action", "Can request an ops action"),
    ("approve_ops_action", "Can approve or reject an ops action"),
    ("execute_ops_action", "Can execute an approved ops action"),
    ("view_agents_map", "Can view the agent map"),
    ("manage_alert_rules", "Can manage alert rules"),
    ("manage_fx_rates", "Can manage FX rates"),
    ("publish_sira_recommendation", "Can publish SIRA recommendations"),
    ("apply_sira_recommendation", "Can apply a SIRA recommendation"),
]

ROLE_PERMISSIONS = {
    Role.OPS_ADMIN: [
        "view_platform",
        "view_own_tenant",
        "request_ops_action",
        "approve_ops_action",
        "execute_ops_action",
        "view_agents_map",
        "manage_alert_rules",
        "apply_sira_recommendation",
    ],
    Role.PAY_ADMIN: [
        "view_platform",
        "view_own_tenant",
        "request_ops_action",
        "approve_ops_action",
        "execute_ops_action",
        "view_agents_map",
        "apply_sira_recommendation",
    ],
    Role.FINANCE_OPS: [
        "view_platform",
        "view_own_tenant",
        "request_ops_action",
        "approve_ops_action",
        "view_agents_map",
        "manage_fx_rates",
    ],
    Role.MERCHANT_ADMIN: ["view_own_tenant"],
    Role.AGENT: ["view_own_tenant", "view_agents_map"],
    Role.SIRA_SERVICE: ["view_platform", "view_own_tenant", "publish_sira_recommendation"],
}


def sync_role_groups(group_model, permission_model):
    """Make one group per role with exactly its permissions (idempotent).

    Takes the models as arguments so the migration can pass its historical ones.
    """
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=str(role))
        group.permissions.set(
            permission_model.objects.filter(
                content_type__app_label="accounts", codename__in=codenames
            )
        )
