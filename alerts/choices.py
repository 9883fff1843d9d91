"""Closed sets of the alerts app (contract: shared/contracts/api.md, Alerts)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertSource(models.TextChoices):
    THRESHOLD = "threshold", _("Threshold rule")
    SIRA = "sira", _("SIRA")
    MANUAL = "manual", _("Manual")
    SYSTEM = "system", _("System")


class AlertCategory(models.TextChoices):
    FLOAT = "float", _("Float")
    FRAUD = "fraud", _("Fraud")
    RECONCILIATION = "reconciliation", _("Reconciliation")
    PAYOUT = "payout", _("Payout")
    SYSTEM = "system", _("System")


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


# An alert in one of these still owns its fingerprint (partial unique index).
LIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Comparator(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", ">="
    LT = "lt", "<"
    LTE = "lte", "<="


class Baseline(models.TextChoices):
    """What the threshold is compared against: the value itself, or a relative change."""

    NONE = "none", _("Absolute threshold")
    # threshold is a percent change against the same window one week earlier.
    LAST_WEEK = "last_week", _("Percent change from the same hour last week")
    # threshold is a z-score against the hourly values of the 28 days before the window.
    ZSCORE_28D = "zscore_28d", _("Z-score over the last 28 days")


class NoDataState(models.TextChoices):
    """What a series with no data in its window becomes (Grafana's NoData handling)."""

    OK = "ok", _("Normal (resolve)")
    KEEP = "keep", _("Keep the last state")
    ALERTING = "alerting", _("Alerting")


class SeriesState(models.TextChoices):
    NORMAL = "normal", _("Normal")
    PENDING = "pending", _("Pending")
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")
    NODATA = "nodata", _("No data")


class AlertEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    REPEATED = "repeated", _("Seen again")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class ContactKind(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    EMAIL = "email", _("E-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
