"""Ingestion models: dead letters (dashboard/ingest owns them).

The seen-id store (`dashboard_seen_event`) is a partitioned table written and
read only by raw SQL on the hot path (dashboard/ingest/sql.py): it has no model.
"""

from django.conf import settings
from django.db import models

from dashboard.ingest.choices import DeadLetterReason, DeadLetterStatus

__all__ = ["DeadLetter"]


class DeadLetter(models.Model):
    """An event that broke the contract, kept byte for byte with why, for ops to replay."""

    received_at = models.DateTimeField(db_index=True)
    topic = models.CharField(max_length=249, blank=True, default="")
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    key = models.BinaryField(null=True, blank=True)
    payload = models.BinaryField(help_text="The original message bytes.")
    event_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    reason = models.CharField(max_length=32, choices=DeadLetterReason.choices, db_index=True)
    detail = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.PENDING
    )
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    reprocessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "dashboard_dead_letter"
        ordering = ["-received_at", "-id"]
        constraints = [
            # A redelivered bad message is recorded once (crash between DB and offset commit).
            models.UniqueConstraint(
                fields=["topic", "partition", "offset"],
                condition=models.Q(offset__isnull=False),
                name="dead_letter_unique_kafka_position",
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="dead_letter_status_idx")]

    def __str__(self):
        return f"{self.reason} {self.event_id or '-'} ({self.topic}:{self.partition}:{self.offset})"

    @property
    def payload_text(self):
        """The payload decoded for display (invalid UTF-8 shown escaped)."""
        return bytes(self.payload).decode("utf-8", errors="backslashreplace")
