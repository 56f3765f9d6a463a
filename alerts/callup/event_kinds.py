"""Payload schema of the call-up's event (see `disaster.core.events.event_kind`): names,
teams and answers, never a phone number or a LINE id."""

from pydantic import BaseModel

from disaster.core.events import event_kind


class StaffAnswer(BaseModel):
    id: int
    name: str
    team: str
    answer: str
    sent: bool
    failed: bool
    answered_at: str | None


@event_kind("callup.changed")
class CallUpEvent(BaseModel):
    id: int
    staffing: str
    staffing_label: str
    created_at: str
    counts: dict[str, int]
    answers: list[StaffAnswer]
