"""Background work of the alerts app (Procrastinate)."""

from __future__ import annotations

from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from alerts import fanout
from alerts.models import Alert


@app.task(
    queue="alerts",
    queueing_lock="send_alert",
    # Unfinished deliveries (a provider down, a worker killed) are picked up by the next
    # try; the fan-out is resumable and never sends twice.
    retry=RetryStrategy(max_attempts=20, exponential_wait=2),
)
def send_alert(alert_id: int) -> None:
    """Fan an approved alert out to its recipients (deferred when it is approved)."""
    from alerts.services import mark_sending

    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.status in {Alert.Status.DRAFT, Alert.Status.CANCELLED}:
            return  # only an approved alert ever goes out
        mark_sending(alert)
    fanout.send(alert_id)
