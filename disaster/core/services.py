"""What users do in the disaster app: manage their API tokens, declare and run incidents.

Each function changes the rows, writes the audit log and publishes the event in one
transaction; API endpoints, pages and commands all call these.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disaster.core import audit
from disaster.core.errors import Conflict, Invalid, NotFound
from disaster.core.events import publish
from disaster.core.models import ApiToken, Incident, User
from disaster.core.roles import Role, role_of


@transaction.atomic
def create_token(
    user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`, signing them in until `expires_at` (or until revoked)."""
    if not name.strip():
        raise Invalid(fields={"name": _("名前を入力してください（どの端末・システム用か）。")})
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid(fields={"expires_at": _("有効期限は今より後にしてください。")})
    token, secret = ApiToken.issue(user, name.strip(), expires_at)
    audit.record(user, "token.create", token, after=audit.snapshot(token))
    return token, secret


@transaction.atomic
def revoke_token(by: User, token_id: int) -> ApiToken:
    """Revoke a token: its owner may, and so may an administrator. Revoking twice is a no-op."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or (token.user_id != by.pk and role_of(by) != Role.ADMINISTRATOR):
        raise NotFound()
    if token.revoked_at is None:
        before = audit.snapshot(token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(by, "token.revoke", token, before=before, after=audit.snapshot(token))
    return token


def _incident_event(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "name": incident.name,
        "kind": incident.kind,
        "phase": incident.phase,
        "is_drill": incident.is_drill,
    }


@transaction.atomic
def declare_incident(by: User | None, *, name: str, kind: str, is_drill: bool = False) -> Incident:
    """Declare an incident; `by=None` when the system opens it (an earthquake JMA reports
    in the city, alerts.authoring.suggestions)."""
    incident = Incident.objects.create(name=name, kind=kind, is_drill=is_drill)
    audit.record(by, "incident.declare", incident, after=audit.snapshot(incident))
    publish("incident.declared", _incident_event(incident))
    return incident


@transaction.atomic
def update_incident(
    by: User, incident_id: int, *, name: str | None = None, phase: str | None = None
) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise NotFound()
    if incident.phase == Incident.Phase.CLOSED:
        raise Conflict(_("終了した災害は変更できません。"))
    before = audit.snapshot(incident)
    if name is not None:
        incident.name = name
    if phase is not None:
        incident.phase = phase
        if phase == Incident.Phase.CLOSED:
            incident.ended_at = timezone.now()
    if audit.snapshot(incident) == before:
        return incident
    incident.save()
    audit.record(by, "incident.update", incident, before=before, after=audit.snapshot(incident))
    publish("incident.updated", _incident_event(incident))
    return incident
