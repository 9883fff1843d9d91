"""Request and answer shapes of /api/dashboard/sira/... (contract: shared/contracts/api.md)."""

from rest_framework import serializers

from sira.intake import RecommendationIn
from sira.models import Recommendation, RecommendationAudit


class RecommendationInSerializer(RecommendationIn):
    """One recommendation as SIRA publishes it (a list of these is accepted too)."""


class ModelOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class RecActionOutSerializer(serializers.Serializer):
    action_type = serializers.CharField()
    params = serializers.JSONField()


class RecommendationSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="rec_type")
    confidence = serializers.FloatField()
    action = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    ops_action = serializers.IntegerField(source="ops_action_id", allow_null=True)
    ops_action_status = serializers.CharField(
        source="ops_action.status", allow_null=True, default=None
    )

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "external_id",
            "type",
            "target",
            "priority",
            "confidence",
            "action",
            "explanation",
            "model",
            "impact",
            "valid_until",
            "status",
            "ops_action",
            "ops_action_status",
            "origin",
            "decision_reason",
            "created_at",
        ]

    def get_action(self, obj) -> RecActionOutSerializer:
        return {"action_type": obj.action_type, "params": obj.action_params}

    def get_model(self, obj) -> ModelOutSerializer:
        return {"name": obj.model_name, "version": obj.model_version}


class AuditRowSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = RecommendationAudit
        fields = ["event", "actor", "before", "after", "at"]


class RecommendationDetailSerializer(RecommendationSerializer):
    audit = AuditRowSerializer(many=True, read_only=True)

    class Meta(RecommendationSerializer.Meta):
        fields = [*RecommendationSerializer.Meta.fields, "audit"]


class IntakeResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "duplicate", "invalid"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class IntakeAnswerSerializer(serializers.Serializer):
    """Answer to a list: every item's fate; 400 when any item was invalid (the good ones are
    kept all the same)."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    invalid = serializers.IntegerField()
    results = IntakeResultSerializer(many=True)


class RejectionSerializer(serializers.Serializer):
    """The body of a rejection: why."""

    reason = serializers.CharField(max_length=1000)


class AcceptanceSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    decided = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(
        allow_null=True, help_text="applied / (applied + rejected + expired); null if none."
    )


class ImpactSerializer(serializers.Serializer):
    recommendation = serializers.IntegerField()
    action_type = serializers.CharField()
    window = serializers.DictField(child=serializers.CharField())
    backtest = serializers.JSONField(help_text="What the action would have changed (per type).")
    sira_estimate = serializers.JSONField(help_text="SIRA's own estimate (`impact`).")
