"""API routes of the disaster app: who am I, tokens, the event log, the audit log, incidents."""

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from disaster.core import services
from disaster.core.auth import ADMINISTRATORS, SIGNED_IN, STAFF, AuthedRequest
from disaster.core.errors import NotFound
from disaster.core.events import events_after
from disaster.core.idempotency import keep_instead
from disaster.core.models import AuditEntry, Incident
from disaster.core.schemas import (
    AuditFilter,
    AuditOut,
    Cursor,
    EventPage,
    Id,
    IncidentIn,
    IncidentOut,
    IncidentPatch,
    MeOut,
    Paginated,
    TokenCreated,
    TokenIn,
    TokenOut,
)

router = Router()

EVENT_PAGE = 500


@router.get("/me", response=MeOut, auth=SIGNED_IN, tags=["account"])
def me(request: AuthedRequest):
    user = request.auth
    return {
        "id": user.pk,
        "username": user.get_username(),
        "role": user.role,
        "shelter_ids": list(user.managed_shelters.values_list("pk", flat=True)),
    }


@router.get("/tokens", response=list[TokenOut], auth=SIGNED_IN, tags=["account"])
def list_tokens(request: AuthedRequest):
    return request.auth.api_tokens.all()


@router.post("/tokens", response={201: TokenCreated}, auth=SIGNED_IN, tags=["account"])
def create_token(request: AuthedRequest, payload: TokenIn):
    """A new API token; its secret is in this answer only. A replay of the same
    `Idempotency-Key` answers with the token's id and name and `token: null`: the
    secret is never kept, so it cannot be shown again (nor after the token is revoked)."""
    token, secret = services.create_token(request.auth, payload.name, payload.expires_at)
    shown = TokenOut.from_orm(token).model_dump()
    keep_instead(request, {**shown, "token": None})
    return Status(201, TokenCreated(**shown, token=secret))


@router.delete("/tokens/{token_id}", response=TokenOut, auth=SIGNED_IN, tags=["account"])
def revoke_token(request: AuthedRequest, token_id: Id):
    return services.revoke_token(request.auth, token_id)


@router.get("/events", response=EventPage, auth=STAFF, tags=["events"])
def list_events(request: HttpRequest, after: Cursor = 0):
    """Events after `after`, oldest first: what a client missed while disconnected."""
    events = events_after(after, EVENT_PAGE + 1)
    page = events[:EVENT_PAGE]
    return {
        "events": page,
        "last_id": page[-1].id if page else after,
        "more": len(events) > EVENT_PAGE,
    }


@router.get("/audit", response=list[AuditOut], auth=ADMINISTRATORS, tags=["audit"])
@paginate(Paginated)
def list_audit(request: HttpRequest, filters: AuditFilter = Query(...)):
    return filters.filter(AuditEntry.objects.all())


@router.get("/incidents", response=list[IncidentOut], auth=SIGNED_IN, tags=["incidents"])
@paginate(Paginated)
def list_incidents(request: HttpRequest):
    return Incident.objects.all()


@router.post("/incidents", response={201: IncidentOut}, auth=STAFF, tags=["incidents"])
def declare_incident(request: AuthedRequest, payload: IncidentIn):
    incident = services.declare_incident(
        request.auth, name=payload.name, kind=payload.kind, is_drill=payload.is_drill
    )
    return Status(201, incident)


@router.get("/incidents/{incident_id}", response=IncidentOut, auth=SIGNED_IN, tags=["incidents"])
def get_incident(request: HttpRequest, incident_id: Id):
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound()
    return incident


@router.patch("/incidents/{incident_id}", response=IncidentOut, auth=STAFF, tags=["incidents"])
def update_incident(request: AuthedRequest, incident_id: Id, payload: IncidentPatch):
    return services.update_incident(request.auth, incident_id, **payload.dict(exclude_unset=True))
