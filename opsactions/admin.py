"""Django admin ops console: read-only lists and details; transitions (approve, reject,
execute, rollback, cancel) go through a confirmation page and the same services as the API."""

import json

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.scope import is_platform_staff
from common.admin import NoWritesAdmin
from common.errors import DomainError, NotAllowed
from opsactions.audit import context_from_request
from opsactions.choices import ActionStatus, Transition
from opsactions.models import (
    AuditEntry,
    MerchantControl,
    OpsAction,
    OutboxMessage,
    PayoutControl,
    PayoutRoute,
    ReconciliationRequest,
    SettlementHold,
    ThresholdOverride,
    TransactionReversal,
)
from opsactions.selectors import (
    action_audit,
    action_queryset,
    action_transitions,
    actions_awaiting_approval,
    approvals_summary,
    can_view_ops,
    rollback_request_open,
)
from opsactions.transitions import TRANSITIONS, transition_apply

# verb -> (button label, label of its text box); the service each calls and whether the
# text is required come from opsactions.transitions (shared with the web console).
TRANSITION_LABELS = {
    Transition.APPROVE: ("Approve", "Comment"),
    Transition.REJECT: ("Reject", "Reason"),
    Transition.EXECUTE: ("Execute", "Comment (not stored)"),
    Transition.ROLLBACK: ("Roll back", "Reason"),
    Transition.CANCEL: ("Cancel", "Reason"),
}


class ReadOnlyOpsAdmin(NoWritesAdmin, admin.ModelAdmin):
    """Visible to the ops roles only; nobody adds, edits or deletes through the admin."""

    def has_module_permission(self, request):
        return request.user.is_staff and can_view_ops(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


class ScopedByActionAdmin(ReadOnlyOpsAdmin):
    """Rows tied to an action (audit, outbox, control tables): region staff see only those of
    the actions they may see, exactly like the action list (platform staff see all)."""

    action_field = "action"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_platform_staff(request.user):
            return queryset
        try:
            visible = action_queryset(request.user).values("pk")
        except NotAllowed:
            return queryset.none()
        return queryset.filter(**{f"{self.action_field}__in": visible})


class AwaitingMyApprovalFilter(admin.SimpleListFilter):
    title = "awaiting my approval"
    parameter_name = "awaiting_my_approval"

    def lookups(self, request, model_admin):
        return [("yes", "Awaiting my approval")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return actions_awaiting_approval(request.user, queryset)
        return queryset


def _pretty(value):
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(OpsAction)
class OpsActionAdmin(ReadOnlyOpsAdmin):
    list_display = [
        "id",
        "action_type",
        "target",
        "risk_level",
        "status",
        "progress",
        "requested_by",
        "created_at",
        "expires_at",
    ]
    list_filter = ["status", "risk_level", "action_type", AwaitingMyApprovalFilter]
    search_fields = ["target", "reason"]
    actions = [
        "approve_selected",
        "reject_selected",
        "execute_selected",
        "rollback_selected",
        "cancel_selected",
    ]
    change_form_template = "admin/opsactions/opsaction/change_form.html"
    fields = [
        "action_type",
        "target",
        "status",
        "risk_level",
        "progress",
        "required_role",
        "params_display",
        "params_hash",
        "reason",
        "effect_duration",
        "requested_by",
        "created_at",
        "expires_at",
        "approved_at",
        "executed_at",
        "executed_by",
        "rollback_due_at",
        "rollback_request_display",
        "closed_at",
        "closed_reason",
        "error",
        "result_display",
        "approvals_display",
        "audit_display",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        try:
            return action_queryset(request.user)
        except NotAllowed:
            return OpsAction.objects.none()

    @admin.display(description="approvals")
    def progress(self, obj):
        count, required, names = approvals_summary(obj)
        who = f": {', '.join(names)}" if names else ""
        return f"{count} of {required}{who}"

    @admin.display(description="rollback request")
    def rollback_request_display(self, obj):
        pending = rollback_request_open(obj.pk)
        if not pending:
            return "none"
        return format_html(
            "requested by <b>{}</b> ({}) at {}: {} (a second eligible person must confirm "
            "with Roll back)",
            pending.requested_by.username,
            pending.requested_by_role,
            pending.created_at.isoformat(timespec="seconds"),
            pending.reason,
        )

    @admin.display(description="parameters")
    def params_display(self, obj):
        return _pretty(obj.params)

    @admin.display(description="effect (before / after)")
    def result_display(self, obj):
        return _pretty(obj.result)

    @admin.display(description="votes")
    def approvals_display(self, obj):
        rows = [
            (
                a.created_at.isoformat(timespec="seconds"),
                a.approver.username,
                a.approver_role,
                a.decision,
                a.comment,
            )
            for a in obj.approvals.all()
        ]
        if not rows:
            return "none yet"
        return format_html(
            "<table><tr><th>at</th><th>by</th><th>role</th><th>decision</th>"
            "<th>comment</th></tr>{}</table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 5 + "</tr>", rows),
        )

    @admin.display(description="audit trail")
    def audit_display(self, obj):
        rows = [
            (
                e.seq,
                e.at.isoformat(timespec="seconds"),
                e.actor_username,
                e.actor_role,
                e.event,
                json.dumps(e.after, sort_keys=True)[:300],
                e.request_id,
                e.client_ip or "",
                e.hash[:12],
            )
            for e in action_audit(obj.pk)
        ]
        header = format_html_join(
            "",
            "<th>{}</th>",
            (
                (h,)
                for h in ("seq", "at", "actor", "role", "event", "after", "request", "ip", "hash")
            ),
        )
        return format_html(
            "<table><tr>{}</tr>{}</table>",
            header,
            format_html_join("", "<tr>" + "<td>{}</td>" * 9 + "</tr>", rows),
        )

    # ------------------------------------------------------------ transitions
    def get_urls(self):
        own = [
            path(
                "<int:action_id>/transition/<str:verb>/",
                self.admin_site.admin_view(self.transition_view),
                name="opsactions_opsaction_transition",
            ),
        ]
        return own + super().get_urls()

    def transition_view(self, request, action_id, verb):
        """Per-object button on the detail page: same confirmation page, same services."""
        if verb not in TRANSITION_LABELS or not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:opsactions_opsaction_changelist"))
        obj = get_object_or_404(self.get_queryset(request), pk=action_id)
        back = reverse("admin:opsactions_opsaction_change", args=[obj.pk])
        return self._confirm(request, [obj], verb, back=back)

    def _confirm(self, request, objects, verb, back=None):
        label, text_label = TRANSITION_LABELS[verb]
        text_required = TRANSITIONS[verb].text_required
        error = ""
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            text = request.POST.get("comment", "").strip()
            if text_required and not text:
                error = f"{text_label} is required."
            else:
                context = context_from_request(request)
                for obj in objects:
                    try:
                        # The service's own object says the outcome: no second read.
                        done = transition_apply(
                            verb, actor=request.user, action_id=obj.pk, text=text, context=context
                        )
                        if verb == Transition.ROLLBACK and done.status == ActionStatus.EXECUTED:
                            note = (
                                f"Rollback requested: {done}. A second eligible person must "
                                "confirm it with Roll back."
                            )
                        else:
                            note = f"{label}: {done} -> {done.status}"
                        self.message_user(request, note, messages.SUCCESS)
                    except DomainError as exc:
                        self.message_user(
                            request,
                            f"{label} refused for #{obj.pk}: {exc.detail} ({exc.code})",
                            messages.ERROR,
                        )
                return HttpResponseRedirect(
                    back or reverse("admin:opsactions_opsaction_changelist")
                )
        return TemplateResponse(
            request,
            "admin/opsactions/confirm_transition.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{label} ops actions",
                "opts": self.model._meta,
                "objects": objects,
                "verb": verb,
                "label": label,
                "text_label": text_label,
                "text_required": text_required,
                "error": error,
                "is_bulk": back is None,
                "summaries": [
                    (
                        o,
                        approvals_summary(o),
                        rollback_request_open(o.pk) if verb == "rollback" else None,
                    )
                    for o in objects
                ],
            },
        )

    @admin.action(description="Approve selected actions")
    def approve_selected(self, request, queryset):
        return self._confirm(request, list(queryset), "approve")

    @admin.action(description="Reject selected actions")
    def reject_selected(self, request, queryset):
        return self._confirm(request, list(queryset), "reject")

    @admin.action(description="Execute selected actions")
    def execute_selected(self, request, queryset):
        return self._confirm(request, list(queryset), "execute")

    @admin.action(description="Roll back selected actions")
    def rollback_selected(self, request, queryset):
        return self._confirm(request, list(queryset), "rollback")

    @admin.action(description="Cancel selected actions (requester only)")
    def cancel_selected(self, request, queryset):
        return self._confirm(request, list(queryset), "cancel")

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        # Only the buttons this user may use on this action now (the same rule as the web
        # console); the services still decide when one is pressed.
        verbs = action_transitions(request.user, obj) if obj else []
        context["transitions"] = [(verb, TRANSITION_LABELS[verb][0]) for verb in verbs]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedByActionAdmin):
    action_field = "action_id"
    list_display = [
        "seq",
        "at",
        "actor_username",
        "actor_role",
        "event",
        "action_id",
        "request_id",
        "client_ip",
        "short_hash",
    ]
    list_filter = ["event", "actor_role"]
    search_fields = ["actor_username", "request_id", "=action_id"]

    @admin.display(description="hash")
    def short_hash(self, obj):
        return obj.hash[:16]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ScopedByActionAdmin):
    list_display = [
        "id",
        "phase",
        "action",
        "topic",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["phase", ("sent_at", admin.EmptyFieldListFilter)]


for _model, _cols in [
    (PayoutControl, ["scope", "paused", "reason_code", "action", "updated_at"]),
    (MerchantControl, ["merchant_id", "status", "reason_code", "action", "updated_at"]),
    (
        SettlementHold,
        ["merchant_id", "active", "kind", "percent", "amount", "currency", "until", "action"],
    ),
    (PayoutRoute, ["country", "bank_id", "action", "updated_at"]),
    (ThresholdOverride, ["scope", "key", "value", "action", "updated_at"]),
    (ReconciliationRequest, ["bank_id", "date", "action", "created_at"]),
    (
        TransactionReversal,
        ["transaction_id", "merchant_id", "amount", "currency", "action", "created_at"],
    ),
]:
    admin.site.register(
        _model, type(f"{_model.__name__}Admin", (ScopedByActionAdmin,), {"list_display": _cols})
    )
