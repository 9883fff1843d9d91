"""Ingestion models: dead letters, the demo history marker (dashboard/ingest owns them).

The seen-id store (`dashboard_seen_event`) is a partitioned table written and
read only by raw SQL on the hot path (dashboard/ingest/sql.py): it has no model.
"""

from django.conf import settings
from django.db import models

from dashboard.ingest.choices import DeadLetterPublication, DeadLetterReason, DeadLetterStatus

__all__ = ["DeadLetter", "DemoBackfill"]


class DeadLetter(models.Model):
    """An event that broke the contract, kept byte for byte with why, for ops to replay."""

    received_at = models.DateTimeField(db_index=True)
    topic = models.CharField(max_length=249, blank=True, default="")
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    key = models.BinaryField(null=True, blank=True)
    payload = models.BinaryField(help_text="The original message bytes.")
    payload_sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Hex SHA-256 of the payload: with the Kafka position, the letter's identity.",
    )
    event_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    reason = models.CharField(max_length=32, choices=DeadLetterReason.choices, db_index=True)
    detail = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.PENDING
    )
    publication = models.CharField(
        max_length=16,
        choices=DeadLetterPublication.choices,
        default=DeadLetterPublication.PENDING,
        help_text="Whether the copy on the DLQ topic is out (whole or truncated).",
    )
    publish_error = models.TextField(blank=True, default="")
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    reprocessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "dashboard_dead_letter"
        ordering = ["-received_at", "-id"]
        constraints = [
            # A redelivered bad message is recorded once (crash between DB and offset
            # commit); a DIFFERENT message at a reused position (broker restarted
            # empty, topic re-created) is a letter of its own.
            models.UniqueConstraint(
                fields=["topic", "partition", "offset", "payload_sha256"],
                condition=models.Q(offset__isnull=False),
                name="dead_letter_unique_message",
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="dead_letter_status_idx")]

    def __str__(self):
        return f"{self.reason} {self.event_id or '-'} ({self.topic}:{self.partition}:{self.offset})"

    @property
    def payload_text(self):
        """The payload decoded for display (invalid UTF-8 shown escaped)."""
        return bytes(self.payload).decode("utf-8", errors="backslashreplace")


class DemoBackfill(models.Model):
    """A demo history sent by `manage.py backfill_demo`: what it covers and whether it finished.

    The marker that keeps the command from counting a history twice: the
    seen-id store forgets ids after SEEN_EVENT_RETENTION_DAYS, and most of a
    30-day history is older than that. An unfinished row is resumed with its
    own seed and end, so the same events are sent again and only the ones not
    yet counted count.
    """

    seed = models.BigIntegerField()
    history_end = models.DateTimeField(help_text="The history covers the days before this.")
    days = models.PositiveSmallIntegerField()
    rate = models.FloatField(help_text="Mean events per second.")
    events = models.PositiveIntegerField(default=0, help_text="Events sent (once finished).")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "dashboard_demo_backfill"
        ordering = ["-started_at", "-id"]

    def __str__(self):
        state = f"{self.events} events" if self.finished_at else "unfinished"
        return f"{self.days} days up to {self.history_end:%Y-%m-%d %H:%M} ({state})"
