"""The ops-actions source of the dashboard's `list` widget (registered in apps.ready()).

The dashboard may not import this app (it sits above it), so the data comes through
dashboard/widgets/registry.py. Same visibility as the ops-action list API: roles that
take no part in ops actions get a 403, region staff see their country's actions.
"""

from accounts.choices import ScopeKind
from opsactions.api.serializers import ActionSerializer
from opsactions.selectors import action_queryset


def ops_actions_widget_data(*, user, scope, config, now):
    """The newest `config["limit"]` actions visible to `user` that target `scope` (the
    platform scope: every visible action), as the ops-action list API renders them."""
    actions = action_queryset(user)
    if scope.kind == ScopeKind.REGION:
        actions = actions.filter(target_country=scope.id)
    elif not scope.is_platform:
        actions = actions.filter(target=str(scope))
    actions = actions.order_by("-created_at", "-id")
    items = ActionSerializer(actions[: config["limit"]], many=True).data
    return {"items": items, "total": actions.count()}
