"""Payload schemas of the alerts app's workflow events (the fan-out's are in
alerts/delivery_events.py). What the operations room needs to draw an alert and its area;
never a recipient."""

from pydantic import BaseModel

from disaster.core.events import event_kind


@event_kind("alert.drafted")
@event_kind("alert.sent_back")
@event_kind("alert.approved")
@event_kind("alert.sending")
@event_kind("alert.sent")
@event_kind("alert.cancelled")
class AlertEvent(BaseModel):
    id: int
    kind: str
    status: str
    msg_type: str
    drill: bool
    title: str
    whole_city: bool
    district_ids: list[int]
    has_area: bool
    area: dict | None = None  # the drawn polygon as GeoJSON, so the map draws it live
    references: int | None


class SuggestionTelegram(BaseModel):
    id: int
    title: str
    report_at: str | None


class SuggestionShelter(BaseModel):
    id: int
    name: str
    status: str


class SuggestionAlert(BaseModel):
    id: int
    kind: str
    status: str
    title: str
    version: int
    adopted: bool


class SuggestionIncident(BaseModel):
    id: int
    name: str


@event_kind("suggestion.changed")
class SuggestionEvent(BaseModel):
    """A suggestion made, acted on or withdrawn (alerts/authoring/suggestions.py), with the
    JMA telegram that caused it."""

    id: int
    status: str
    summary: str
    rule: str
    telegram: SuggestionTelegram
    staffing: str
    staffing_label: str
    call_up: bool
    called_up_at: str | None
    hazard: str
    shelters: list[SuggestionShelter]
    shelters_opened_at: str | None
    alert: SuggestionAlert | None
    incident: SuggestionIncident | None
    reason: str
    created_at: str
