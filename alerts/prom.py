"""Prometheus metrics of the alerts app (exported by /metrics, see dashboard/prometheus.py)."""

from prometheus_client import Counter, Gauge, Histogram

ALERTS_FIRING = Gauge(
    "molam_alerts_firing",
    "Live (open or acknowledged) alerts by severity, as of the last evaluation cycle.",
    ["severity"],
    multiprocess_mode="mostrecent",
)
RULE_EVALUATION_SECONDS = Histogram(
    "molam_alert_rule_evaluation_seconds",
    "Time to evaluate one alert rule (one SQL statement over every series).",
    ["rule"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
NOTIFICATION_FAILURES = Counter(
    "molam_alert_notification_failures",
    "Failed attempts to deliver an alert notification.",
    ["kind"],
)
NOTIFICATIONS_SENT = Counter(
    "molam_alert_notifications_sent", "Alert notifications delivered.", ["kind"]
)
