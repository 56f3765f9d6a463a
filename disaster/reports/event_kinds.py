"""Payload schemas of the damage reports' events (see `disaster.core.events.event_kind`)."""

from pydantic import BaseModel

from disaster.core.events import event_kind


@event_kind("report.created")
@event_kind("report.updated")
class ReportEvent(BaseModel):
    """A damage report on the map: no reporter contact, no description (free text may hold
    names); the page fetches details it is allowed to see."""

    id: int
    category: str
    severity: int
    status: str
    latitude: float
    longitude: float
    reporters: int
    merged_into: int | None
    source: str
    team: str  # the team it is assigned to (道路班, 消防…), "" before
    created_at: str  # ISO 8601: the map's time filter and the popup's time need it
