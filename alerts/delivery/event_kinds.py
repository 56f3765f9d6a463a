"""Events the alert fan-out and the safety check publish to the operations room.

Counts only: no phone numbers, LINE ids or names (DESIGN decision 9)."""

from __future__ import annotations

from pydantic import BaseModel

from disaster.core.events import event_kind


class DistrictCounts(BaseModel):
    """Deliveries by state. `reached`: delivered, or accepted by LINE — LINE reports no
    delivery, so a LINE message it accepted is as far as anyone can know it arrived (an SMS
    counts once Twilio reports it delivered). Never a delivery to the console."""

    district_id: int | None  # None: recipients known only by a home point outside districts
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    reached: int = 0


@event_kind("alert.delivery_progress")
class DeliveryProgress(BaseModel):
    alert_id: int
    drill: bool  # drill figures are kept apart from real ones
    finished: bool
    queued: int
    sent: int
    delivered: int
    failed: int
    reached: int
    # Deliveries handed to the console transport: counted as sent, yet nothing was sent.
    console: int
    by_district: list[DistrictCounts]


class SafetyCounts(BaseModel):
    district_id: int | None
    evacuated: int = 0
    safe_at_home: int = 0
    need_help: int = 0


@event_kind("alert.safety_answers")
class SafetyAnswers(BaseModel):
    alert_id: int
    drill: bool
    by_district: list[SafetyCounts]
