"""Background work of the alerts app (Procrastinate)."""

from __future__ import annotations

from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from alerts.authoring.schedules import send_due
from alerts.delivery import fanout
from alerts.lifecycle import SEND_ALERT, mark_sending
from alerts.models import Alert
from alerts.residents.privacy import forget_stale


@app.task(
    name=SEND_ALERT,
    queue="alerts",
    # Unfinished deliveries (a provider down, a worker killed) are picked up by the next
    # try; the fan-out is resumable and never sends twice.
    retry=RetryStrategy(max_attempts=20, exponential_wait=2),
)
def send_alert(alert_id: int) -> None:
    """Fan an approved alert out to its recipients (deferred when it is approved, with
    `alerts.lifecycle.defer_sending`)."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.status in {Alert.Status.DRAFT, Alert.Status.CANCELLED}:
            return  # only an approved alert ever goes out
        mark_sending(alert)
    fanout.send(alert_id)


@app.periodic(cron="* * * * *")
@app.task(queue="alerts", queueing_lock="send_scheduled_messages")
def send_scheduled_messages(timestamp: int | None = None) -> int:
    """Every minute: send the scheduled information messages that are due."""
    return len(send_due())


@app.periodic(cron="*/5 * * * *")
@app.task(queue="housekeeping", queueing_lock="forget_stale_conversations")
def forget_stale_conversations(timestamp: int | None = None) -> dict[str, int]:
    """Every five minutes: residents' report pieces that made no report in time (photos
    included), handled-event ids LINE no longer redelivers, and ended rate windows."""
    return forget_stale()
