"""Badges and small pieces of the ops console pages (labels come from the TextChoices)."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from opsactions.choices import ActionStatus, ActionType, AuditEvent, Decision, RiskLevel

register = template.Library()

# Colour says what the reader has to do: amber waits on people, blue is ready or running,
# green is done, red failed or refused, grey is closed without effect.
_STATUS_TONE = {
    ActionStatus.PENDING_APPROVAL: "warn",
    ActionStatus.APPROVED: "info",
    ActionStatus.EXECUTED: "ok",
    ActionStatus.FAILED: "bad",
    ActionStatus.REJECTED: "bad",
    ActionStatus.CANCELLED: "muted",
    ActionStatus.EXPIRED: "muted",
    ActionStatus.ROLLED_BACK: "muted",
}


def _label(choices, value):
    try:
        return choices(value).label
    except ValueError:
        return value


@register.simple_tag
def status_badge(status):
    """A status pill: <span class="badge badge-warn">Pending approval</span>."""
    tone = _STATUS_TONE.get(status, "muted")
    return format_html(
        '<span class="badge badge-{} status-badge" data-status="{}">{}</span>',
        tone,
        status,
        _label(ActionStatus, status),
    )


@register.simple_tag
def risk_badge(risk):
    """A risk pill with a level meter (colour is never the only cue: the text says it)."""
    return format_html(
        '<span class="risk risk-{}"><span class="risk-meter" aria-hidden="true">'
        "<i></i><i></i><i></i><i></i></span>{}</span>",
        risk,
        _label(RiskLevel, risk),
    )


@register.filter
def type_label(action_type):
    return _label(ActionType, action_type)


@register.filter
def event_label(event):
    return _label(AuditEvent, event)


@register.filter
def decision_label(decision):
    return _label(Decision, decision)


@register.simple_tag
def approval_pips(count, required):
    """n of m approvals as pips and text: ●●○ 2/3."""
    shown = max(required, count)
    pips = format_html_join(
        "",
        '<i class="{}"></i>',
        (("on" if i < count else "",) for i in range(shown)),
    )
    return format_html(
        '<span class="pips" title="{}"><span class="pip-row" aria-hidden="true">{}</span>'
        '<span class="pip-text">{}/{}</span></span>',
        _("%(count)s of %(required)s approvals") % {"count": count, "required": required},
        pips,
        count,
        required,
    )


# Labels of the parameter and effect keys the executors write (translated); any other key
# is shown humanized.
_KEY_LABELS = {
    "active": gettext_lazy("Active"),
    "amount": gettext_lazy("Amount"),
    "bank_id": gettext_lazy("Bank ID"),
    "currency": gettext_lazy("Currency"),
    "date": gettext_lazy("Date"),
    "days": gettext_lazy("Days"),
    "float_limit": gettext_lazy("Float limit"),
    "key": gettext_lazy("Key"),
    "kind": gettext_lazy("Kind"),
    "paused": gettext_lazy("Paused"),
    "percent": gettext_lazy("Percent"),
    "reason": gettext_lazy("Reason"),
    "reason_code": gettext_lazy("Reason code"),
    "status": gettext_lazy("Status"),
    "transaction_id": gettext_lazy("Transaction ID"),
    "until": gettext_lazy("Until"),
    "value": gettext_lazy("Value"),
}


@register.filter
def humanize_key(key):
    """reason_code -> Reason code (parameter names as labels)."""
    if str(key) in _KEY_LABELS:
        return _KEY_LABELS[str(key)]
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def approvals_done(action):
    """Approve votes so far (prefetched approvals; no query per row)."""
    return sum(1 for a in action.approvals.all() if a.decision == Decision.APPROVE)


@register.filter
def plain(value):
    """A parameter or effect value for people: yes/no for booleans, a dash for nothing."""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value is None or value == "":
        return "—"
    return value


@register.filter
def human_duration(value):
    """timedelta(hours=30) -> "1 day 6 hours" (whole hours; the rest in minutes)."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes or not parts:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)
