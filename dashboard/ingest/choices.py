"""Stable codes of the ingestion path (dead-letter reasons and states)."""

from django.db import models


class DeadLetterReason(models.TextChoices):
    """Why an event was set aside; the code is stable (headers of the DLQ topic, metrics, API)."""

    INVALID_JSON = "invalid_json", "Not a UTF-8 JSON object"
    MISSING_FIELD = "missing_field", "Required field missing"
    INVALID_FIELD = "invalid_field", "Field of the wrong type or length"
    UNKNOWN_TYPE = "unknown_type", "Unknown event type"
    INVALID_SOURCE = "invalid_source", "Source unknown or not allowed for the type"
    INVALID_TIMESTAMP = "invalid_timestamp", "occurred_at is not RFC 3339 with an offset"
    FUTURE_TIMESTAMP = "future_timestamp", "occurred_at more than 5 minutes in the future"
    INVALID_CURRENCY = "invalid_currency", "Not an ISO 4217 currency code"
    INVALID_COUNTRY = "invalid_country", "Not an ISO 3166-1 alpha-2 country code"
    INVALID_AMOUNT = "invalid_amount", "Not a decimal, more than 4 decimals or too large"
    NEGATIVE_AMOUNT = "negative_amount", "Amount, fee or cost below zero"
    INVALID_LOCATION = "invalid_location", "location is not {lat, lon} within range"
    # Not the event's fault: the validator itself failed on it (a defect). Set
    # aside rather than failing its whole batch forever; re-process after the fix.
    UNPROCESSABLE = "unprocessable", "The validator failed on it (a defect, logged)"


class DeadLetterStatus(models.TextChoices):
    """Where a dead letter stands: set aside, re-processed into the aggregates, or still invalid."""

    PENDING = "pending", "Pending"
    REPROCESSED = "reprocessed", "Re-processed and counted"
    DUPLICATE = "duplicate", "Re-processed: already counted"
    STILL_INVALID = "still_invalid", "Re-processed: still invalid"


class DeadLetterPublication(models.TextChoices):
    """Whether a dead letter's copy reached the DLQ topic (the table row is always whole)."""

    PENDING = "pending", "Not yet on the DLQ topic"
    PUBLISHED = "published", "On the DLQ topic"
    TRUNCATED = "truncated", "On the DLQ topic truncated (too large); whole here"
    FAILED = "failed", "Not on the DLQ topic: publish error (see publish_error)"
    LOCAL = "local", "Not from Kafka: table only"
