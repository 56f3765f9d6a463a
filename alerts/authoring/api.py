"""Alerts API for operations staff: draft, preview, approve (which sends), follow up,
cancel; the shelters to point people to while drafting; subscribers registered by staff.

Subscribers' numbers and LINE ids are personal data: every endpoint here is staff only,
and the public CAP feed (alerts/views.py) carries none of them."""

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from alerts.authoring import drafting, schedules, services
from alerts.authoring.schemas import (
    AlertFilter,
    AlertIn,
    AlertOut,
    FollowUpIn,
    MessagePreview,
    RecipientCounts,
    ScheduleIn,
    ScheduleOut,
    SubscriberIn,
    SubscriberOut,
    SuggestedShelterOut,
)
from alerts.delivery import messages, targeting
from alerts.models import Alert, Language, ScheduledMessage, Subscriber
from disaster.core.auth import STAFF
from disaster.core.errors import NotFound
from disaster.core.schemas import Id, Paginated

router = Router(tags=["alerts"])

TEXT_NAMES = services.TEXT_FIELDS


def _draft(payload: AlertIn) -> services.Draft:
    data = payload.dict()
    return services.Draft(
        kind=data["kind"],
        texts={name: data[name] for name in TEXT_NAMES},
        channels=[str(c) for c in data["channels"]],
        whole_city=data["whole_city"],
        district_ids=data["district_ids"],
        area=data["area"],
        is_drill=data["is_drill"],
        hazard=data["hazard"],
        incident_id=data["incident_id"],
        asks_safety=data["asks_safety"],
        valid_minutes=data["valid_minutes"],
    )


def _alert(alert_id: int) -> Alert:
    alert = (
        Alert.objects.select_related("drafted_by", "approved_by")
        .prefetch_related("districts")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        raise NotFound()
    return alert


@router.get("/alerts", response=list[AlertOut], auth=STAFF)
@paginate(Paginated)
def list_alerts(request: HttpRequest, filters: AlertFilter = Query(...)):
    alerts = Alert.objects.select_related("drafted_by", "approved_by").prefetch_related("districts")
    return filters.filter(alerts)


@router.post("/alerts", response={201: AlertOut}, auth=STAFF)
def draft_alert(request: HttpRequest, payload: AlertIn):
    """A draft. Japanese title and body are required; a target is required; a
    self-intersecting area is refused saying so; the SMS must fit one message."""
    alert = services.draft_alert(request.auth, _draft(payload))
    return Status(201, _alert(alert.pk))


@router.get("/alerts/{alert_id}", response=AlertOut, auth=STAFF)
def get_alert(request: HttpRequest, alert_id: Id):
    return _alert(alert_id)


@router.put("/alerts/{alert_id}", response=AlertOut, auth=STAFF)
def update_draft(request: HttpRequest, alert_id: Id, payload: AlertIn):
    services.update_draft(request.auth, alert_id, _draft(payload))
    return _alert(alert_id)


@router.post("/alerts/{alert_id}/approve", response=AlertOut, auth=STAFF)
def approve(request: HttpRequest, alert_id: Id):
    """Approve and send. The approver must not be the drafter, except for a drill."""
    services.approve_alert(request.auth, alert_id)
    return _alert(alert_id)


@router.post("/alerts/{alert_id}/cancel", response=AlertOut, auth=STAFF)
def cancel_draft(request: HttpRequest, alert_id: Id):
    """Withdraw a draft. A sent alert is cancelled with a follow-up of type `cancel`."""
    services.cancel_draft(request.auth, alert_id)
    return _alert(alert_id)


@router.post("/alerts/{alert_id}/followups", response={201: AlertOut}, auth=STAFF)
def follow_up(request: HttpRequest, alert_id: Id, payload: FollowUpIn):
    """Draft an update or a cancellation of a sent alert, to the same area."""
    data = payload.dict()
    alert = services.follow_up(
        request.auth, alert_id, data["msg_type"], {name: data[name] for name in TEXT_NAMES}
    )
    return Status(201, _alert(alert.pk))


@router.get("/alerts/{alert_id}/recipients", response=RecipientCounts, auth=STAFF)
def recipients(request: HttpRequest, alert_id: Id):
    """How many people the alert reaches, per channel (counts only)."""
    return targeting.recipient_counts(_alert(alert_id))


@router.get("/alerts/{alert_id}/messages", response=list[MessagePreview], auth=STAFF)
def preview(request: HttpRequest, alert_id: Id):
    """Exactly what each language receives on each channel."""
    alert = _alert(alert_id)
    previews = []
    for channel in alert.channels:
        for language in Language.values:
            text = messages.message_text(alert, language, channel)
            previews.append(
                {
                    "language": language,
                    "channel": channel,
                    "text": text,
                    "characters": len(text),
                    "sms_limit": messages.sms_limit(text) if channel == "sms" else None,
                }
            )
    return previews


@router.get("/alerts/{alert_id}/shelters", response=list[SuggestedShelterOut], auth=STAFF)
def shelters(request: HttpRequest, alert_id: Id):
    """Shelters serving the alert's hazard in or near its area, with free places and days
    of supply; shelters inside the area are left out when the hazard makes it unsafe."""
    return drafting.shelters_for(_alert(alert_id))


@router.get("/subscribers", response=list[SubscriberOut], auth=STAFF, tags=["subscribers"])
@paginate(Paginated)
def list_subscribers(request: HttpRequest, needs_support: bool | None = None):
    subscribers = Subscriber.objects.prefetch_related("districts").order_by("pk")
    if needs_support is not None:
        subscribers = subscribers.filter(needs_support=needs_support)
    return subscribers


@router.post("/subscribers", response={201: SubscriberOut}, auth=STAFF, tags=["subscribers"])
def register_subscriber(request: HttpRequest, payload: SubscriberIn):
    """Register someone who cannot register themselves, with their consent recorded."""
    home = None
    if payload.latitude is not None and payload.longitude is not None:
        home = (payload.latitude, payload.longitude)
    subscriber = services.register_for(
        request.auth,
        phone=payload.phone,
        language=payload.language,
        home=home,
        district_ids=payload.district_ids,
        needs_support=payload.needs_support,
        consent_note=payload.consent_note,
    )
    return Status(201, subscriber)


@router.get("/schedules", response=list[ScheduleOut], auth=STAFF, tags=["schedules"])
@paginate(Paginated)
def list_schedules(request: HttpRequest, active: bool | None = None):
    found = ScheduledMessage.objects.prefetch_related("districts")
    return found if active is None else found.filter(active=active)


@router.post("/schedules", response={201: ScheduleOut}, auth=STAFF, tags=["schedules"])
def schedule_message(request: HttpRequest, payload: ScheduleIn):
    """An information message sent at `first_at`, then on its repeat (never an
    evacuation alert), in each subscriber's language."""
    data = payload.dict()
    schedule = schedules.schedule_message(
        request.auth,
        texts={name: data[name] for name in TEXT_NAMES},
        channels=[str(c) for c in data["channels"]],
        whole_city=data["whole_city"],
        district_ids=data["district_ids"],
        first_at=data["first_at"],
        repeat=data["repeat"],
    )
    return Status(201, schedule)


@router.post("/schedules/{schedule_id}/stop", response=ScheduleOut, auth=STAFF, tags=["schedules"])
def stop_schedule(request: HttpRequest, schedule_id: Id):
    return schedules.stop_schedule(request.auth, schedule_id)
