"""An alert's life after approval, shared by authoring and delivery: its status changes,
the events that announce them, and the deferred fan-out.

Authoring defers the fan-out by task name (as Zulip's producers name a queue), so it never
imports the worker module; the worker's jobs import this module, never authoring.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone
from procrastinate.contrib.django import app

from alerts.models import Alert
from disaster.core.events import publish

SEND_ALERT = "alerts.jobs.send_alert"  # the task in alerts/jobs.py


def alert_event(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "drill": alert.is_drill,
        "title": alert.title_ja,
        "whole_city": alert.whole_city,
        "district_ids": sorted(alert.districts.values_list("pk", flat=True)),
        "has_area": alert.area is not None,
        "area": json.loads(alert.area.geojson) if alert.area is not None else None,
        "references": alert.references_id,
    }


def announce(alert: Alert, what: str) -> None:
    """Tell the operations room: alert.drafted / approved / sending / sent / cancelled."""
    publish(f"alert.{what}", alert_event(alert))


def defer_sending(alert: Alert) -> None:
    """Queue the fan-out of one alert, at most once at a time (a queueing lock per alert),
    inside the caller's transaction (DESIGN decision 4)."""
    app.configure_task(SEND_ALERT, queue="alerts", queueing_lock=f"send_alert:{alert.pk}").defer(
        alert_id=alert.pk
    )


def mark_sending(alert: Alert) -> None:
    """The fan-out started (a retried job finds the alert already sending)."""
    if alert.status == Alert.Status.APPROVED:
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.SENDING)
        alert.status = Alert.Status.SENDING
        announce(alert, "sending")


def mark_sent(alert: Alert) -> None:
    """Every delivery is settled: the alert is sent."""
    if alert.status != Alert.Status.SENT:
        alert.status, alert.sent_at = Alert.Status.SENT, timezone.now()
        Alert.objects.filter(pk=alert.pk).update(status=alert.status, sent_at=alert.sent_at)
        announce(alert, "sent")
