"""An alert's delivery progress for the operations room: counts only, never who."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DurationField, Max, Value
from django.db.models.functions import Coalesce, Now

from alerts.delivery.event_kinds import DistrictCounts
from alerts.delivery.rows import Status
from alerts.delivery.targeting import deliveries_by_district
from alerts.models import Alert, Channel
from disaster.core.events import publish
from disaster.core.models import Event

BUCKET: dict[str, str] = {
    Status.QUEUED: "queued",
    Status.SENDING: "queued",
    Status.SENT: "sent",
    Status.DELIVERED: "delivered",
    Status.FAILED: "failed",
    Status.UNDELIVERABLE: "failed",
}


def _reached(channel: str, status: str, console: bool) -> bool:
    """Delivered, or accepted by LINE (which reports nothing further); see DistrictCounts."""
    if console:
        return False
    return status == Status.DELIVERED or (channel == Channel.LINE and status == Status.SENT)


def progress_counts(alert: Alert) -> dict:
    """Queued / sent / delivered / failed / reached, in total and by district, with every
    figure in every district (counts only), and how many went to the console."""
    totals = DistrictCounts(district_id=None)
    by_district: dict[int | None, DistrictCounts] = {}
    console_total = 0
    for district_id, channel, status, console, count in deliveries_by_district(alert):
        district = by_district.setdefault(district_id, DistrictCounts(district_id=district_id))
        for counts in (totals, district):
            name = BUCKET[status]
            setattr(counts, name, getattr(counts, name) + count)
            if _reached(channel, status, console):
                counts.reached += count
        console_total += count if console else 0
    return {
        **totals.model_dump(exclude={"district_id"}),
        "console": console_total,
        "by_district": [counts.model_dump() for counts in by_district.values()],
    }


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


def without_progress(seconds: float = 60) -> list[int]:
    """Alerts approved or being sent whose deliveries have not moved for `seconds` (nor
    begun since the approval), oldest first: what the operations map warns of. A fan-out
    waiting out a long Retry-After is among them too; either way staff should look."""
    quiet_since = Now() - Value(timedelta(seconds=seconds), output_field=DurationField())
    return list(
        Alert.objects.filter(status__in=(Alert.Status.APPROVED, Alert.Status.SENDING))
        .annotate(moved=Coalesce(Max("deliveries__updated_at"), "approved_at", "created_at"))
        .filter(moved__lt=quiet_since)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
