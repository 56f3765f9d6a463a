"""Events the stockpile publishes to the operations room."""

from pydantic import BaseModel

from disaster.core.events import event_kind


@event_kind("stock.moved")
class StockMoved(BaseModel):
    kind: str
    depot_id: int
    shelter_id: int | None
    item_id: int
    quantity: int  # signed: what the action added to the depot's stock of the item
    on_hand: int  # the depot's stock of the item afterwards
    movement_ids: list[int]
    transfer_id: int | None = None


class TransferChanged(BaseModel):
    transfer_id: int
    status: str
    from_depot_id: int
    to_depot_id: int
    item_id: int
    quantity: int
    request_id: int | None


for _kind in ("planned", "dispatched", "received", "cancelled"):
    event_kind(f"transfer.{_kind}")(TransferChanged)


class SupplyRequestChanged(BaseModel):
    request_id: int
    depot_id: int
    shelter_id: int | None
    status: str
    urgency: str


for _kind in ("created", "approved", "rejected", "cancelled", "fulfilled"):
    event_kind(f"supply_request.{_kind}")(SupplyRequestChanged)


class Shortage(BaseModel):
    depot_id: int
    shelter_id: int | None
    item_id: int
    on_hand: int
    days_of_supply: float | None
    hours_until_empty: float | None
    required_units: int | None


@event_kind("stock.shortages")
class Shortages(BaseModel):
    """The shortage list changed (published by the periodic check, only on change)."""

    threshold_days: float
    shortages: list[Shortage]


class ExpiringLot(BaseModel):
    lot_id: int
    depot_id: int
    item_id: int
    expires_on: str
    on_hand: int


@event_kind("stock.expiring")
class Expiring(BaseModel):
    """The lots expiring soon changed (published by the periodic check, only on change)."""

    within_days: int
    lots: list[ExpiringLot]
