"""Alerts API for operations staff: draft, preview, approve (which sends) or send back,
follow up, cancel; the shelters to point people to while drafting; subscribers registered
by staff.

An alert's answers carry its version as an ETag (`"3"`); approving and sending back name the
version read, as `If-Match: "3"` or `{"version": 3}` (DESIGN decision 11).

Subscribers' numbers and LINE ids are personal data: every endpoint here is staff only,
and the public CAP feed (alerts/views.py) carries none of them."""

import re

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from alerts.authoring import drafting, schedules, services, versions
from alerts.authoring.schemas import (
    AlertFilter,
    AlertIn,
    AlertOut,
    AlertVersionOut,
    FollowUpIn,
    MessagePreview,
    RecipientCounts,
    ReviewIn,
    ScheduleIn,
    ScheduleOut,
    SendBackIn,
    SubscriberIn,
    SubscriberOut,
    SuggestedShelterOut,
)
from alerts.delivery import messages, targeting
from alerts.models import Alert, ScheduledMessage, Subscriber
from disaster.core.auth import STAFF, AuthedRequest
from disaster.core.errors import Invalid, NotFound
from disaster.core.idempotency import kept_about
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


ALERTS = Alert.objects.select_related("drafted_by", "approved_by").prefetch_related(
    "districts", "versions__made_by", "versions__send_backs__by"
)
ENTITY_TAG = re.compile(r'\s*("?)(\d{1,9})\1\s*')  # "3", or 3 from a lenient client


def _alert(alert_id: int, response: HttpResponse | None = None) -> Alert:
    """The alert as the API shows it; its version goes into `response`'s ETag."""
    alert = ALERTS.filter(pk=alert_id).first()
    if alert is None:
        raise NotFound()
    if response is not None:
        response["ETag"] = f'"{alert.version}"'
    return alert


def _version_read(request: HttpRequest, stated: int | None) -> int | None:
    """The version a reviewer read: `If-Match: "3"` or `version` in the body (both: the same)."""
    header = request.headers.get("If-Match")
    if header is None:
        return stated
    match = ENTITY_TAG.fullmatch(header)
    if match is None:
        raise Invalid(fields={"If-Match": _('If-Match には版の番号を "3" の形で書いてください。')})
    named = int(match[2])
    if stated is not None and stated != named:
        raise Invalid(fields={"version": _("If-Match と version が違う版を指しています。")})
    return named


@router.get("/alerts", response=list[AlertOut], auth=STAFF)
@paginate(Paginated)
def list_alerts(request: HttpRequest, filters: AlertFilter = Query(...)):
    return filters.filter(ALERTS.all())


@router.post("/alerts", response={201: AlertOut}, auth=STAFF)
def draft_alert(request: AuthedRequest, payload: AlertIn, response: HttpResponse):
    """A draft (its version 1). Japanese title and body are required; a target is required;
    a self-intersecting area is refused saying so; the SMS must fit one message."""
    alert = services.draft_alert(request.auth, _draft(payload))
    return Status(201, _alert(alert.pk, response))


@router.get("/alerts/{alert_id}", response=AlertOut, auth=STAFF)
def get_alert(request: HttpRequest, alert_id: Id, response: HttpResponse):
    """The alert at its current version (also in the ETag header)."""
    return _alert(alert_id, response)


@router.put("/alerts/{alert_id}", response=AlertOut, auth=STAFF)
def update_draft(request: AuthedRequest, alert_id: Id, payload: AlertIn, response: HttpResponse):
    """Change a draft: a new version, made by the caller, who may then not approve it. With
    `If-Match`, a draft changed by someone else since is refused (409), not overwritten."""
    based_on = _version_read(request, None)
    services.update_draft(request.auth, alert_id, _draft(payload), based_on=based_on)
    return _alert(alert_id, response)


@router.get("/alerts/{alert_id}/versions", response=list[AlertVersionOut], auth=STAFF)
def list_versions(request: HttpRequest, alert_id: Id):
    """Every version, oldest first: who made it, when, what it said, what changed from the
    one before, and the comments of those who sent it back."""
    return versions.history(_alert(alert_id))


@router.post("/alerts/{alert_id}/approve", response=AlertOut, auth=STAFF)
def approve(
    request: AuthedRequest, alert_id: Id, response: HttpResponse, payload: ReviewIn | None = None
):
    """Approve the version read and send it: name it with `If-Match` or `version` (428
    without; 409 `version_changed`, saying what changed, if the draft changed since). Nobody
    who made any version may approve it (403 `four_eyes`), except the drafter of a drill."""
    named = _version_read(request, payload.version if payload else None)
    services.approve_alert(request.auth, alert_id, named)
    return _alert(alert_id, response)


@router.post("/alerts/{alert_id}/send-back", response=AlertOut, auth=STAFF)
def send_back(request: AuthedRequest, alert_id: Id, payload: SendBackIn, response: HttpResponse):
    """Send the version read back to its drafter with a comment (差し戻し): it stays a draft."""
    named = _version_read(request, payload.version)
    services.send_back(request.auth, alert_id, named, payload.comment)
    return _alert(alert_id, response)


@router.post("/alerts/{alert_id}/cancel", response=AlertOut, auth=STAFF)
def cancel_draft(request: AuthedRequest, alert_id: Id):
    """Withdraw a draft. A sent alert is cancelled with a follow-up of type `cancel`."""
    services.cancel_draft(request.auth, alert_id)
    return _alert(alert_id)


@router.post("/alerts/{alert_id}/followups", response={201: AlertOut}, auth=STAFF)
def follow_up(request: AuthedRequest, alert_id: Id, payload: FollowUpIn, response: HttpResponse):
    """Draft an update or a cancellation of a sent alert, to the same area; it is reviewed
    and approved like any draft."""
    data = payload.dict()
    alert = services.follow_up(
        request.auth, alert_id, data["msg_type"], {name: data[name] for name in TEXT_NAMES}
    )
    return Status(201, _alert(alert.pk, response))


@router.get("/alerts/{alert_id}/recipients", response=RecipientCounts, auth=STAFF)
def recipients(request: HttpRequest, alert_id: Id):
    """How many subscribers the alert reaches, per channel (counts only), and how many people
    and households live in its area (対象人数・対象世帯数, from the districts' census figures;
    `population_method` says how they are counted)."""
    alert = _alert(alert_id)
    return {**targeting.recipient_counts(alert), **targeting.target_population(alert)}


@router.get("/alerts/{alert_id}/messages", response=list[MessagePreview], auth=STAFF)
def preview(request: HttpRequest, alert_id: Id):
    """Exactly what each language receives on each channel: the written template or the
    staff's own text, its length (SMS: units, encoding, segments of at most
    `max_segments`), how many recipients read that language, and warnings where anything
    would reach them in a language they did not choose (`japanese_staff_text`) or in wording
    the city has not reviewed (`unreviewed_wording`)."""
    return messages.previews(_alert(alert_id))


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
def register_subscriber(request: AuthedRequest, payload: SubscriberIn):
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
    kept_about(request, f"subscriber:{subscriber.pk}")  # forgotten when they are deleted
    return Status(201, subscriber)


@router.get("/schedules", response=list[ScheduleOut], auth=STAFF, tags=["schedules"])
@paginate(Paginated)
def list_schedules(request: HttpRequest, active: bool | None = None):
    found = ScheduledMessage.objects.prefetch_related("districts")
    return found if active is None else found.filter(active=active)


@router.post("/schedules", response={201: ScheduleOut}, auth=STAFF, tags=["schedules"])
def schedule_message(request: AuthedRequest, payload: ScheduleIn):
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
def stop_schedule(request: AuthedRequest, schedule_id: Id):
    return schedules.stop_schedule(request.auth, schedule_id)
