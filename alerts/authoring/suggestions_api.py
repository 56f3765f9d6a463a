"""Suggestions API for operations staff: what the rules suggest for JMA's telegrams, and
acting on a suggestion — call staff up, set shelters to 開設準備, adopt the machine's draft
(another staff member then approves it on the alerts page), or 見送り. Call-ups too."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from alerts.authoring import suggestions
from alerts.callup import services as callup
from disaster.core.auth import STAFF, AuthedRequest
from disaster.core.schemas import Id

router = Router(tags=["suggestions"])


class AdoptIn(Schema):
    version: int


class CallUpIn(Schema):
    staffing: str
    note: str = ""


@router.get("/suggestions", response=list[dict[str, Any]], auth=STAFF)
def list_suggestions(request: HttpRequest):
    """Open suggestions and those of the last day, each with the telegram that caused it."""
    return suggestions.open_suggestions()


@router.post("/suggestions/{suggestion_id}/call-up", response=dict[str, Any], auth=STAFF)
def call_up(request: AuthedRequest, suggestion_id: Id):
    return suggestions.suggestion_payload(suggestions.call_up(request.auth, suggestion_id))


@router.post("/suggestions/{suggestion_id}/open-shelters", response=dict[str, Any], auth=STAFF)
def open_shelters(request: AuthedRequest, suggestion_id: Id):
    return suggestions.suggestion_payload(suggestions.open_shelters(request.auth, suggestion_id))


@router.post("/suggestions/{suggestion_id}/adopt", response=dict[str, Any], auth=STAFF)
def adopt(request: AuthedRequest, suggestion_id: Id, payload: AdoptIn):
    """Take the machine's draft as yours, naming the version you read; someone else approves."""
    found = suggestions.adopt(request.auth, suggestion_id, payload.version)
    return suggestions.suggestion_payload(found)


@router.post("/suggestions/{suggestion_id}/dismiss", response=dict[str, Any], auth=STAFF)
def dismiss(request: AuthedRequest, suggestion_id: Id):
    return suggestions.suggestion_payload(suggestions.dismiss(request.auth, suggestion_id))


@router.get("/call-ups", response=list[dict[str, Any]], auth=STAFF, tags=["call-ups"])
def list_call_ups(request: HttpRequest):
    """The latest call-ups with each staff member's answer (names and teams only)."""
    return callup.recent()


@router.post("/call-ups", response={201: dict[str, Any]}, auth=STAFF, tags=["call-ups"])
def call_up_staff(request: AuthedRequest, payload: CallUpIn):
    """Call up the teams of a staffing level (注意体制 caution, 警戒体制 alert, 非常体制
    emergency) without a suggestion."""
    record = callup.call_up(request.auth, payload.staffing, note=payload.note)
    return Status(201, callup.call_up_payload(record))
