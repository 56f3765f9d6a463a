"""Events about shelters: their status, their head-counts, and corrections of their data."""

import datetime as dt

from pydantic import BaseModel

from disaster.core.events import event_kind


@event_kind("shelter.status_changed")
class StatusChanged(BaseModel):
    """A shelter opened, filled up, closed…: what the operations room and residents follow."""

    shelter_id: int
    name: str
    status: str
    previous: str
    at: dt.datetime
    note: str


@event_kind("shelter.corrected")
class Corrected(BaseModel):
    """Master data was corrected (an address, a phone number). Never an opening or closing."""

    shelter_id: int
    fields: list[str]


@event_kind("shelter.headcount")
class HeadCountRecorded(BaseModel):
    """A head-count was recorded. It is the shelter's occupancy only if `is_current` (the
    one observed last); a paper record of an earlier time is history at once."""

    shelter_id: int
    headcount_id: int
    total: int
    capacity: int
    percent_of_capacity: float | None
    at: dt.datetime
    observed_at: dt.datetime
    is_current: bool
    supported_elsewhere: int
