from pydantic import BaseModel

from disaster.events import event_kind


@event_kind("stock.moved")
class StockMoved(BaseModel):
    movement_id: int
    kind: str
    depot_id: int
    shelter_id: int | None
    item_id: int
    quantity: int
