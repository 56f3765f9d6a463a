"""Delivery and safety-check figures for operations staff, and the "need help" list.

Counts carry no personal data. The need-help list does (a phone number or a LINE user,
a home point): it is what staff need to go and help, so it is open to operations staff
only (DESIGN decision 9)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from alerts.delivery import safety
from alerts.delivery.event_kinds import DeliveryProgress, SafetyAnswers
from alerts.delivery.progress import progress_counts
from alerts.models import Alert, SafetyAnswer
from disaster.core.auth import STAFF
from disaster.core.errors import NotFound

router = Router(tags=["alert delivery"])


def _alert(alert_id: int) -> Alert:
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        raise NotFound()
    return alert


class NeedHelp(Schema):
    subscriber_id: int
    phone: str | None
    has_line: bool
    language: str
    home_lat: float | None
    home_lon: float | None
    district_ids: list[int]
    answered_at: datetime


@router.get("/alerts/{alert_id}/delivery", response=DeliveryProgress, auth=STAFF)
def delivery_summary(request: HttpRequest, alert_id: int):
    """Queued / sent / delivered / failed for one alert, in total and by district (the
    same figures as the alert.delivery_progress events), every figure in every district.

    `reached` = delivered + LINE messages LINE accepted: LINE reports no delivery, so its
    acceptance is as far as anyone can know; an SMS is reached once Twilio reports it
    delivered. `console`: deliveries handed to the console transport (counted as sent,
    but nothing was sent: no provider credentials, ALERTS_CONSOLE_DELIVERY)."""
    alert = _alert(alert_id)
    return {
        "alert_id": alert.pk,
        "drill": alert.is_drill,
        "finished": alert.status == Alert.Status.SENT,
        **progress_counts(alert),
    }


@router.get("/alerts/{alert_id}/safety", response=SafetyAnswers, auth=STAFF)
def safety_summary(request: HttpRequest, alert_id: int):
    """Safety-check answers (evacuated / safe at home / need help) counted by district."""
    alert = _alert(alert_id)
    return {
        "alert_id": alert.pk,
        "drill": alert.is_drill,
        "by_district": safety.counts(alert),
    }


@router.get("/alerts/{alert_id}/need-help", response=list[NeedHelp], auth=STAFF)
def need_help(request: HttpRequest, alert_id: int):
    """Who answered "need help", oldest answer first: the list staff work through."""
    alert = _alert(alert_id)
    answers = (
        SafetyAnswer.objects.filter(alert=alert, answer="need_help")
        .select_related("subscriber")
        .prefetch_related("subscriber__districts")
        .order_by("at", "pk")
    )
    return [
        {
            "subscriber_id": a.subscriber.pk,
            "phone": a.subscriber.phone,
            "has_line": bool(a.subscriber.line_user_id),
            "language": a.subscriber.language,
            "home_lat": a.subscriber.home.y if a.subscriber.home else None,
            "home_lon": a.subscriber.home.x if a.subscriber.home else None,
            "district_ids": [d.pk for d in a.subscriber.districts.all()],
            "answered_at": a.at,
        }
        for a in answers
    ]
