"""Request and answer shapes of /api/dashboard/ops/actions (contract: shared/contracts/api.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsactions.choices import ActionType
from opsactions.models import AuditEntry, OpsAction, OpsApproval, RollbackRequest


class ErrorSerializer(serializers.Serializer):
    """The project's error shape."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ActionCreateSerializer(serializers.Serializer):
    action_type = serializers.ChoiceField(choices=ActionType.choices)
    target = serializers.CharField(
        max_length=80, help_text="platform, merchant:ID, agent:ID, bank:ID or region:CC"
    )
    params = serializers.JSONField(
        required=False, default=dict, help_text="Per-type parameters (see docs/opsactions.md)."
    )
    reason = serializers.CharField(max_length=1000)
    expires_after = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="ISO 8601 duration (PT6H): the effect is rolled back when it ends.",
    )


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    params_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="The params_hash you reviewed; refused (409) if it is not the action's.",
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ApprovalSerializer(serializers.ModelSerializer):
    approver = serializers.CharField(source="approver.username")
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = OpsApproval
        fields = ["approver", "approver_role", "decision", "comment", "params_hash", "at"]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "at",
            "actor",
            "actor_role",
            "event",
            "before",
            "after",
            "request_id",
            "client_ip",
            "prev_hash",
            "hash",
        ]


class ActionSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    executed_by = serializers.CharField(
        source="executed_by.username", allow_null=True, default=None
    )
    approvals = ApprovalSerializer(many=True)
    approvals_count = serializers.SerializerMethodField()
    expires_after = serializers.SerializerMethodField()

    class Meta:
        model = OpsAction
        fields = [
            "id",
            "action_type",
            "target",
            "params",
            "params_hash",
            "reason",
            "risk_level",
            "required_approvals",
            "required_role",
            "approvals_count",
            "approvals",
            "status",
            "requested_by",
            "created_at",
            "updated_at",
            "expires_at",
            "expires_after",
            "approved_at",
            "executed_at",
            "executed_by",
            "rollback_due_at",
            "closed_at",
            "closed_reason",
            "error",
            "result",
        ]

    def get_approvals_count(self, obj) -> int:
        return sum(1 for a in obj.approvals.all() if a.decision == "approve")

    def get_expires_after(self, obj) -> int | None:
        """The effect duration in seconds, when one was requested."""
        return int(obj.effect_duration.total_seconds()) if obj.effect_duration else None


class RollbackRequestSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="requested_by.username")
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = RollbackRequest
        fields = ["by", "reason", "at"]


class ActionDetailSerializer(ActionSerializer):
    audit = serializers.SerializerMethodField()
    rollback_request = serializers.SerializerMethodField()

    class Meta(ActionSerializer.Meta):
        fields = [*ActionSerializer.Meta.fields, "rollback_request", "audit"]

    @extend_schema_field(RollbackRequestSerializer(allow_null=True))
    def get_rollback_request(self, obj):
        """The open rollback request awaiting a second person, or null."""
        from opsactions.selectors import rollback_request_open

        pending = rollback_request_open(obj.pk)
        return RollbackRequestSerializer(pending).data if pending else None

    def get_audit(self, obj) -> list[dict]:
        from opsactions.selectors import action_audit

        return AuditEntrySerializer(action_audit(obj.pk), many=True).data
