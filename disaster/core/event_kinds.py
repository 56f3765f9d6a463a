"""Payload schemas of the core's events (see `disaster.core.events.event_kind`)."""

from pydantic import BaseModel

from disaster.core.events import event_kind


@event_kind("incident.declared")
@event_kind("incident.updated")
class IncidentEvent(BaseModel):
    id: int
    name: str
    kind: str
    phase: str
    is_drill: bool
