"""Reads of the dashboard app that the pages need beyond the API's (the scope picker)."""

from django.db.models import Q

from accounts.choices import ScopeKind
from dashboard.models import Snapshot

_KIND_LABELS = {
    ScopeKind.MERCHANT: "Merchant",
    ScopeKind.AGENT: "Agent",
    ScopeKind.BANK: "Bank",
    ScopeKind.REGION: "Country",
}


def known_scopes(query="", *, limit=30):
    """Scopes that have an overview snapshot, matching `query` (a part of `kind:id`), for
    the staff scope picker: platform first, then countries, banks, merchants, agents."""
    query = (query or "").strip()
    kind, sep, ident = query.partition(":")
    rows = Snapshot.objects.exclude(scope_kind=ScopeKind.PLATFORM)
    if sep and kind in ScopeKind.values:
        rows = rows.filter(scope_kind=kind, scope_id__istartswith=ident)
    elif query:
        rows = rows.filter(Q(scope_id__icontains=query) | Q(scope_kind__istartswith=query))
    order = {ScopeKind.REGION: 0, ScopeKind.BANK: 1, ScopeKind.MERCHANT: 2, ScopeKind.AGENT: 3}
    pairs = sorted(
        set(rows.values_list("scope_kind", "scope_id").distinct()[: limit * 4]),
        key=lambda p: (order.get(p[0], 9), p[1]),
    )[:limit]
    out = []
    if not query or "platform".startswith(query.lower()):
        out.append({"value": "platform", "label": "Platform"})
    for k, i in pairs:
        out.append({"value": f"{k}:{i}", "label": f"{_KIND_LABELS.get(k, k)} {i}"})
    return out
