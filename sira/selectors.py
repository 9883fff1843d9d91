"""Reads of recommendations; who may see what goes through accounts.scope."""

from django.db.models import Count, Q

from accounts.choices import STAFF_ROLES, ScopeKind
from accounts.scope import is_platform_staff, user_scope
from common.errors import NotAllowed, NotFound
from opsactions.choices import OPEN_STATUSES
from sira.choices import RecStatus
from sira.models import AutoRemediationPolicy, Recommendation, RecommendationAudit

PERM_APPLY = "accounts.apply_sira_recommendation"


def can_view_sira(user):
    """Platform staff, and region staff (staff roles scoped to a country), see SIRA."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if is_platform_staff(user):
        return True
    own = user_scope(user)
    return (
        own.kind == ScopeKind.REGION
        and user.role in STAFF_ROLES
        and user.has_perm("accounts.view_own_tenant")
    )


def can_apply(user):
    """Whether `user` may apply or reject recommendations (the role's permission)."""
    return bool(can_view_sira(user) and user.has_perm(PERM_APPLY))


def recommendation_queryset(user):
    """Recommendations `user` may see: platform staff all, region staff their country's."""
    if not can_view_sira(user):
        raise NotAllowed("Your role may not view SIRA recommendations.", code="role_not_eligible")
    qs = Recommendation.objects.select_related("ops_action", "decided_by")
    if is_platform_staff(user):
        return qs
    return qs.filter(target_country=user_scope(user).id)


def recommendation_get(user, rec_id):
    """One visible recommendation or NotFound (an invisible one looks missing)."""
    try:
        pk = int(rec_id)
        if not 0 < pk < 2**63:
            raise ValueError
        return recommendation_queryset(user).get(pk=pk)
    except (Recommendation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Recommendation {rec_id} not found.", code="recommendation_not_found")


def action_is_open(rec):
    """Whether the recommendation's ops action is still waiting or running."""
    return bool(rec.ops_action_id and rec.ops_action.status in OPEN_STATUSES)


def recommendation_audit(rec_id):
    return RecommendationAudit.objects.filter(recommendation_id=rec_id).select_related("actor")


def recommendation_for_action(action_id):
    """The recommendation an ops action came from, or None (the console panel)."""
    return (
        Recommendation.objects.filter(ops_action_id=action_id).order_by("-id").first()
        if action_id
        else None
    )


def acceptance_by_model(user):
    """Per model name and version: counts by status and the acceptance rate, applied over
    decided (applied + rejected + expired); null when nothing was decided."""
    rows = (
        recommendation_queryset(user)
        .order_by()
        .values("model_name", "model_version")
        .annotate(
            total=Count("id"),
            **{s: Count("id", filter=Q(status=s)) for s in RecStatus.values},
        )
        .order_by("model_name", "model_version")
    )
    out = []
    for row in rows:
        decided = row["applied"] + row["rejected"] + row["expired"]
        out.append(
            {
                "name": row["model_name"],
                "version": row["model_version"],
                "total": row["total"],
                "counts": {s: row[s] for s in RecStatus.values},
                "decided": decided,
                "acceptance_rate": (row["applied"] / decided) if decided else None,
            }
        )
    return out


def policy_get():
    """The auto-remediation policy (defaults, off, when never saved)."""
    return AutoRemediationPolicy.objects.filter(pk=1).first() or AutoRemediationPolicy()
