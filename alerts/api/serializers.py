"""Request and answer shapes of /api/dashboard/alerts (contract: shared/contracts/api.md)."""

from rest_framework import serializers

from alerts.models import Alert

# Decimals as strings without trailing zeros ("212.5", "150"), like the contract.
_NUMBER = {
    "max_digits": 30,
    "decimal_places": 6,
    "read_only": True,
    "allow_null": True,
    "normalize_output": True,
}


class AlertSerializer(serializers.ModelSerializer):
    """An alert as the list renders it (also the widget's and the webhook's item)."""

    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    value = serializers.DecimalField(**_NUMBER)
    threshold = serializers.DecimalField(**_NUMBER)

    class Meta:
        model = Alert
        fields = [
            "id",
            "fingerprint",
            "rule",
            "source",
            "severity",
            "category",
            "scope",
            "labels",
            "title",
            "message",
            "value",
            "threshold",
            "status",
            "first_seen",
            "last_seen",
            "occurrences",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_at",
            "resolved_by",
            "silenced",
        ]
        read_only_fields = fields
