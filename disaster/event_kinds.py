"""Payload schemas of the disaster app's events (see `disaster.events.event_kind`)."""

from pydantic import BaseModel

from disaster.events import event_kind


@event_kind("incident.declared")
@event_kind("incident.updated")
class IncidentEvent(BaseModel):
    id: int
    name: str
    kind: str
    phase: str
    is_drill: bool
