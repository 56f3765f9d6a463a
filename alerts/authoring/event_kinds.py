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
