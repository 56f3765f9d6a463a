"""Request and response shapes of the stockpile API."""

import datetime as dt
from typing import Annotated

from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema

from disaster.core.schemas import Id, Moment, enum_named
from stockpile.models import GroupNorm, Item, Lot, Movement, NeedGroup, SupplyRequest, Transfer
from stockpile.services import MAX_QUANTITY

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
ItemCategory = Annotated[Item.Category, enum_named(Item.Category, "ItemCategory")]
LotSource = Annotated[Lot.Source, enum_named(Lot.Source, "LotSource")]
MovementKind = Annotated[Movement.Kind, enum_named(Movement.Kind, "MovementKind")]
TransferStatus = Annotated[Transfer.Status, enum_named(Transfer.Status, "TransferStatus")]
SupplyRequestStatus = Annotated[
    SupplyRequest.Status, enum_named(SupplyRequest.Status, "SupplyRequestStatus")
]
NeedGroupName = Annotated[NeedGroup, enum_named(NeedGroup, "NeedGroup")]
Note = Annotated[str, Field(max_length=500)]


class ItemOut(Schema):
    id: int
    code: str
    category: ItemCategory
    category_label: str
    name_ja: str
    name_en: str
    unit_ja: str
    unit_en: str
    norm_per_person_day: float | None
    norm_source: str
    people_per_unit: int | None
    people_per_unit_long_term: int | None
    shelf_life_days: int | None

    @staticmethod
    def resolve_category_label(item: Item) -> str:
        return str(item.get_category_display())


class GroupNormOut(Schema):
    group: NeedGroupName = Field(description="避難者数のどの人数に掛けるか")
    group_label: str
    per_day: float = Field(description="1人（ペットは1頭）1日あたり")
    source: str

    @staticmethod
    def resolve_group_label(norm: GroupNorm) -> str:
        return str(norm.get_group_display())


class CatalogueItemOut(ItemOut):
    """An item of the catalogue with its norms for groups (乳幼児, 女性, ペット…) next to the
    per-person norm."""

    group_norms: list[GroupNormOut]

    @staticmethod
    def resolve_group_norms(item: Item) -> list[GroupNorm]:
        return list(item.group_norms.all())


class ItemFilter(FilterSchema):
    category: Annotated[ItemCategory | None, FilterLookup("category")] = None
    q: str | None = Field(None, max_length=100, description="品目コード・品名（日英）の一部")

    def filter_q(self, value: str | None) -> Q:
        if not value:
            return Q()
        return Q(code__icontains=value) | Q(name_ja__icontains=value) | Q(name_en__icontains=value)


class DepotFilter(FilterSchema):
    shelter: Annotated[Id | None, FilterLookup("shelter_id")] = None
    central: bool | None = Field(
        None, description="true: 中央備蓄倉庫だけ / false: 避難所の倉庫だけ"
    )

    def filter_central(self, value: bool | None) -> Q:
        return Q() if value is None else Q(shelter__isnull=value)


class DepotOut(Schema):
    id: int
    name: str
    shelter_id: int | None
    latitude: float
    longitude: float

    @staticmethod
    def resolve_latitude(depot) -> float:
        return depot.point.y

    @staticmethod
    def resolve_longitude(depot) -> float:
        return depot.point.x


class LotOut(Schema):
    id: int
    expires_on: dt.date | None
    source: LotSource
    on_hand: int


class StockLine(Schema):
    """One item in one depot, with how long it lasts at the current head-count."""

    item: ItemOut
    on_hand: int = Field(description="使用できる在庫（期限切れを除く）")
    expired: int = Field(description="期限切れで廃棄待ちの数")
    incoming: int = Field(description="輸送中でこちらへ向かっている数")
    evacuees: int
    need_per_day: float | None = Field(
        description="1日に必要な数: 1人あたりの目安×避難者（食料・水は在宅・車中泊も）"
        "＋対象別の目安×その人数（乳幼児、女性、ペット…）。目安のない品目は null"
    )
    days_of_supply: float | None
    hours_until_empty: float | None
    required_units: int | None = Field(description="設備品: 必要な台数（トイレ 50 人に 1 基など）")
    status: str = Field(description="short / low / ok / unrated")
    lots: list[LotOut] = []


class DepotStock(Schema):
    depot: DepotOut
    evacuees: int
    supported_elsewhere: int = Field(description="在宅避難者・車中泊（食料・水を配る）")
    threshold_days: float
    lines: list[StockLine]


class ReceiptIn(Schema):
    item_id: Id
    quantity: Quantity
    expires_on: dt.date | None = None
    source: LotSource = Lot.Source.PROCURED
    note: Note = ""


class IssueIn(Schema):
    item_id: Id
    quantity: Quantity
    note: Note = ""


class CountIn(Schema):
    item_id: Id
    expires_on: dt.date | None = None
    source: LotSource = Lot.Source.PROCURED
    counted: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
    reason: Movement.Reason | None = Field(None, description="帳簿と違うときは必須")
    note: Note = ""


class DisposalIn(Schema):
    item_id: Id
    note: Note = ""


class MovementOut(Schema):
    id: int
    kind: MovementKind
    depot_id: int
    item_id: int
    lot_id: int
    expires_on: dt.date | None
    quantity: int
    reason: str
    note: str
    by: str | None
    at: dt.datetime
    transfer_id: int | None

    @staticmethod
    def resolve_expires_on(movement: Movement) -> dt.date | None:
        return movement.lot.expires_on

    @staticmethod
    def resolve_by(movement: Movement) -> str | None:
        return movement.by.get_username() if movement.by else None


class PostingOut(Schema):
    movements: list[MovementOut]
    quantity: int
    on_hand: int = Field(description="操作後の在庫（この倉庫・この品目の合計）")


class CountSheetOut(Schema):
    rows_counted: int
    rows_adjusted: int = Field(description="帳簿と違っていて調整した行")
    movements: list[MovementOut]


class MovementFilter(FilterSchema):
    depot: Annotated[Id | None, FilterLookup("depot_id")] = None
    item: Annotated[Id | None, FilterLookup("item_id")] = None
    kind: Annotated[MovementKind | None, FilterLookup("kind")] = None
    transfer: Annotated[Id | None, FilterLookup("transfer_id")] = None
    since: Annotated[Moment | None, FilterLookup("at__gte")] = None
    until: Annotated[Moment | None, FilterLookup("at__lt")] = None


class TransferIn(Schema):
    from_depot_id: Id
    to_depot_id: Id
    item_id: Id
    quantity: Quantity
    request_line_id: Id | None = None
    note: Note = ""
    dispatch: bool = Field(False, description="作成と同時に発送する")


class TransferLotOut(Schema):
    expires_on: dt.date | None
    source: LotSource
    quantity: int


class TransferOut(Schema):
    id: int
    status: TransferStatus
    from_depot: DepotOut
    to_depot: DepotOut
    item: ItemOut
    quantity: int
    request_id: int | None
    request_line_id: int | None
    note: str
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    received_at: dt.datetime | None
    lots: list[TransferLotOut]

    @staticmethod
    def resolve_request_id(transfer: Transfer) -> int | None:
        line = transfer.request_line
        return line.request_id if line is not None else None

    @staticmethod
    def resolve_lots(transfer: Transfer):
        return list(transfer.lots.all())


class TransferFilter(FilterSchema):
    status: Annotated[list[TransferStatus] | None, FilterLookup("status__in")] = None
    from_depot: Annotated[Id | None, FilterLookup("from_depot_id")] = None
    to_depot: Annotated[Id | None, FilterLookup("to_depot_id")] = None
    item: Annotated[Id | None, FilterLookup("item_id")] = None


class RequestLineIn(Schema):
    item_id: Id
    quantity: Quantity


class SupplyRequestIn(Schema):
    depot_id: Id
    urgency: SupplyRequest.Urgency = SupplyRequest.Urgency.ROUTINE
    lines: list[RequestLineIn] = Field(min_length=1, max_length=50)
    note: Note = ""


class DecisionIn(Schema):
    note: Note = ""


class RequestLineOut(Schema):
    id: int
    item: ItemOut
    quantity: int
    committed: int = Field(description="移送が割り当てられた数")
    in_transit: int
    received: int


class SupplyRequestOut(Schema):
    id: int
    depot: DepotOut
    urgency: SupplyRequest.Urgency
    status: SupplyRequestStatus
    status_label: str
    note: str
    created_at: dt.datetime
    created_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    lines: list[RequestLineOut]

    @staticmethod
    def resolve_status_label(request: SupplyRequest) -> str:
        return str(request.get_status_display())

    @staticmethod
    def resolve_created_by(request: SupplyRequest) -> str | None:
        return request.created_by.get_username() if request.created_by else None

    @staticmethod
    def resolve_lines(request: SupplyRequest):
        return list(request.lines.with_progress().select_related("item"))


class SupplyRequestFilter(FilterSchema):
    status: Annotated[list[SupplyRequestStatus] | None, FilterLookup("status__in")] = None
    urgency: Annotated[SupplyRequest.Urgency | None, FilterLookup("urgency")] = None
    depot: Annotated[Id | None, FilterLookup("depot_id")] = None


class ShortageOut(Schema):
    depot: DepotOut
    item: ItemOut
    on_hand: int
    incoming: int
    evacuees: int
    days_of_supply: float | None
    hours_until_empty: float | None
    required_units: int | None


class CityItemOut(Schema):
    item: ItemOut
    on_hand: int
    expired: int
    in_transit: int
    evacuees: int
    days_of_supply: float | None
    depots_short: int


class ProposalOut(Schema):
    from_depot: DepotOut
    to_depot: DepotOut
    item: ItemOut
    quantity: int
    needed: int = Field(description="基準日数分まで戻すのに必要な数（提案数より多いことがある）")
    distance_m: float


class ProposalIn(Schema):
    depot_id: Id
    item_id: Id
    dispatch: bool = False


class ExpiringOut(Schema):
    lot: LotOut
    depot: DepotOut
    item: ItemOut
    days_left: int
    suggestion: str = Field(
        description="dispose（廃棄） / use_first（先に使う） / rotate（訓練・入替）"
    )
