"""An alert's delivery progress for the operations room: counts only, never who."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DurationField, Value
from django.db.models.functions import Now

from alerts.delivery.rows import Status
from alerts.delivery.targeting import district_of_subscribers
from alerts.models import Alert
from disaster.core.events import publish
from disaster.core.models import Event


def progress_counts(alert: Alert) -> dict:
    """Queued / sent / delivered / failed, in total and by district (counts only)."""
    by_district: dict[int | None, dict[str, int]] = {}
    totals = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
    bucket = {
        Status.QUEUED: "queued",
        Status.SENDING: "queued",
        Status.SENT: "sent",
        Status.DELIVERED: "delivered",
        Status.FAILED: "failed",
        Status.UNDELIVERABLE: "failed",
    }
    for district_id, status, count in district_of_subscribers(alert):
        name = bucket[status]
        totals[name] += count
        counts = by_district.setdefault(district_id, {"district_id": district_id})
        counts[name] = counts.get(name, 0) + count
    return {**totals, "by_district": list(by_district.values())}


def publish_progress(alert: Alert, finished: bool) -> None:
    with transaction.atomic():
        publish(
            "alert.delivery_progress",
            {
                "alert_id": alert.pk,
                "drill": alert.is_drill,
                "finished": finished,
                **progress_counts(alert),
            },
        )


def progress_after_callback(alert_id: int) -> None:
    """Delivered / failed counts move with the callbacks after the fan-out ended too;
    published at most every ALERTS_PROGRESS_INTERVAL_S per alert (thousands of callbacks
    a minute must not become thousands of events)."""
    interval = timedelta(seconds=settings.ALERTS_PROGRESS_INTERVAL_S)
    recent = Event.objects.filter(
        kind="alert.delivery_progress",
        payload__alert_id=alert_id,
        # Compared in the database's clock: event times are the database's now().
        created_at__gte=Now() - Value(interval, output_field=DurationField()),
    )
    if not recent.exists():
        alert = Alert.objects.get(pk=alert_id)
        publish_progress(alert, finished=alert.status == Alert.Status.SENT)
