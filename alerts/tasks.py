"""Beat tasks of the alerts app (schedules in config/settings.py, alerts block)."""

from celery import shared_task


@shared_task(name="alerts.tasks.evaluate_alert_rules", ignore_result=True)
def evaluate_alert_rules():
    """One evaluation cycle of every enabled rule (every minute); history pruned hourly."""
    from django.utils import timezone

    from alerts.evaluation import evaluate_all, prune_history

    now = timezone.now()
    evaluate_all(now=now)
    if now.minute == 0:
        prune_history(now=now)


@shared_task(name="alerts.tasks.send_notifications", ignore_result=True)
def send_notifications():
    """Flush due notification groups, then attempt every due delivery (retries included)."""
    from alerts.notifications import deliveries_send, groups_flush

    groups_flush()
    deliveries_send()
