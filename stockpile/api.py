"""The stockpile API: the catalogue, stock per depot, the ledger, transfers, supply requests
and the derived figures (shortages, city-wide view, expiring lots, proposed transfers).

A shelter manager reads and writes the depots of the shelters assigned to them; operations
staff and administrators everything. Every write takes an `Idempotency-Key`; the
idempotency middleware replays a repeat, and the movements a write makes carry the key it
claimed (so the ledger functions skip their own replay check).
"""

from typing import Literal

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from disaster.core.auth import SIGNED_IN, STAFF, AuthedRequest
from disaster.core.errors import Forbidden, Invalid, NotFound
from disaster.core.idempotency import claimed_key
from disaster.core.schemas import Id, Paginated
from stockpile import coverage, services, sheets
from stockpile.models import Depot, Item, Lot, Movement, SupplyRequest, SupplyRequestLine, Transfer
from stockpile.schemas import (
    CatalogueItemOut,
    CityItemOut,
    CountIn,
    CountSheetOut,
    DecisionIn,
    DepotFilter,
    DepotOut,
    DepotStock,
    DisposalIn,
    ExpiringOut,
    IssueIn,
    ItemFilter,
    MovementFilter,
    MovementOut,
    PostingOut,
    ProposalIn,
    ProposalOut,
    ReceiptIn,
    ShortageOut,
    SupplyRequestFilter,
    SupplyRequestIn,
    SupplyRequestOut,
    TransferFilter,
    TransferIn,
    TransferOut,
)

router = Router(tags=["stockpile"])


# Who may touch which depot ----------------------------------------------------------------


def may_use_depot(user, depot: Depot) -> bool:
    """Staff use every depot; a shelter manager the depots of their own shelters."""
    return Depot.objects.visible_to(user).filter(pk=depot.pk).exists()


def depot_for(user, depot_id: int) -> Depot:
    """The depot if this user may use it, in one query; which error, 404 or 403, is asked
    only when there is none to use."""
    depot = Depot.objects.visible_to(user).filter(pk=depot_id).order_by().first()
    if depot is not None:
        return depot
    if Depot.objects.filter(pk=depot_id).exists():
        raise Forbidden(_("この備蓄倉庫を扱う権限がありません。"))
    raise NotFound(_("備蓄倉庫 %(id)s はありません。") % {"id": depot_id})


def item_for(item_id: int, field: str = "item_id") -> Item:
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        raise Invalid(fields={field: _("品目 %(id)s はありません。") % {"id": item_id}})
    return item


def depot_and_item(user, depot_id: int, item_id: int) -> tuple[Depot, Item]:
    """`depot_for` and `item_for` in one plain query, for the writes that name both: the
    depot this user may use (its point is read only if asked for) with the item joined on;
    which error to give is asked only when one of them is missing."""
    depot_fields = ["id", "name", "shelter_id"]
    visible = Depot.objects.visible_to(user)
    if visible.query.has_filters():
        depots = visible.filter(pk=depot_id).order_by().values(*depot_fields)
        sql, params = depots.query.sql_with_params()
    else:  # every depot (staff): the table itself, without the ORM compiling a subquery
        sql, params = f"SELECT * FROM {Depot._meta.db_table} WHERE id = %s", (depot_id,)  # noqa: S608
    item_fields = Item._meta.concrete_fields
    columns = [f"depot.{f}" for f in depot_fields] + [f"item.{f.column}" for f in item_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM ({sql}) AS depot "  # noqa: S608 (ours, the ORM's)
            f"LEFT JOIN {Item._meta.db_table} AS item ON item.id = %s",
            [*params, item_id],
        )
        row = cursor.fetchone()
    if row is None:  # no such depot, or not this user's: the error as depot_for gives it
        return depot_for(user, depot_id), item_for(item_id)
    depot = Depot.from_db(connection.alias, depot_fields, row[: len(depot_fields)])
    values = row[len(depot_fields) :]
    if values[0] is None:  # no such item: the error as item_for gives it
        return depot, item_for(item_id)
    return depot, Item.from_db(connection.alias, [f.attname for f in item_fields], values)


def depot_field(user, depot_id: int, field: str) -> Depot:
    """A depot named in a request body: unknown is a field error, not a 404 of the URL."""
    if not Depot.objects.filter(pk=depot_id).exists():
        raise Invalid(fields={field: _("備蓄倉庫 %(id)s はありません。") % {"id": depot_id}})
    return depot_for(user, depot_id)


# The catalogue and depots -----------------------------------------------------------------


@router.get("/items", response=list[CatalogueItemOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_items(request: HttpRequest, filters: ItemFilter = Query(...)):
    """The item catalogue, by category and code, with each item's norms: per person
    (`norm_per_person_day`) and per member of a group (`group_norms`), with their sources."""
    return filters.filter(Item.objects.prefetch_related("group_norms"))


@router.get("/depots", response=list[DepotOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_depots(request: HttpRequest, filters: DepotFilter = Query(...)):
    """Every depot: shelters' warehouses and the central ones (transfers need them all)."""
    return filters.filter(Depot.objects.order_by("name", "pk"))


class StockQuery(Schema):
    threshold_days: float | None = Field(None, gt=0, le=365)


@router.get("/depots/{depot_id}/stock", response=DepotStock, auth=SIGNED_IN)
def depot_stock(request: AuthedRequest, depot_id: Id, query: StockQuery = Query(...)):
    """Stock per item with lots, days of supply at the current head-count, and what is coming."""
    depot = depot_for(request.auth, depot_id)
    threshold = query.threshold_days or coverage.shortage_days()
    levels = coverage.levels(depots=[depot], threshold=threshold)
    lots: dict[int, list[Lot]] = {}
    for lot in depot.lots.filter(on_hand__gt=0).order_by("expires_on", "id"):
        lots.setdefault(lot.item_id, []).append(lot)
    return {
        "depot": depot,
        "evacuees": levels[0].evacuees if levels else 0,
        "supported_elsewhere": levels[0].people.elsewhere if levels else 0,
        "threshold_days": threshold,
        "lines": [dict(vars(level), lots=lots.get(level.item.pk, [])) for level in levels],
    }


# The ledger -------------------------------------------------------------------------------


@router.post("/depots/{depot_id}/receipts", response={201: PostingOut}, auth=SIGNED_IN)
def receive(request: AuthedRequest, depot_id: Id, payload: ReceiptIn):
    """Stock arrives (procured, donated or national push support). Joins the lot with the
    same expiry date and source."""
    depot = depot_for(request.auth, depot_id)
    posting = services.receive_stock(
        depot=depot,
        item=item_for(payload.item_id),
        quantity=payload.quantity,
        expires_on=payload.expires_on,
        source=payload.source,
        note=payload.note,
        by=request.auth,
        idempotency_key=claimed_key(request),
        key_claimed=True,
    )
    return Status(201, posting)


@router.post("/depots/{depot_id}/issues", response={201: PostingOut}, auth=SIGNED_IN)
def issue(request: AuthedRequest, depot_id: Id, payload: IssueIn):
    """Hand stock out, soonest expiry first. 409 with `available` if there is not enough."""
    depot, item = depot_and_item(request.auth, depot_id, payload.item_id)
    posting = services.issue_stock(
        depot=depot,
        item=item,
        quantity=payload.quantity,
        note=payload.note,
        by=request.auth,
        idempotency_key=claimed_key(request),
        key_claimed=True,
    )
    return Status(201, posting)


@router.post("/depots/{depot_id}/counts", response={201: PostingOut}, auth=SIGNED_IN)
def count(request: AuthedRequest, depot_id: Id, payload: CountIn):
    """A count of one lot (棚卸). A difference from the books is adjusted, with its reason."""
    depot = depot_for(request.auth, depot_id)
    posting = services.count_stock(
        depot=depot,
        item=item_for(payload.item_id),
        expires_on=payload.expires_on,
        source=payload.source,
        counted=payload.counted,
        reason=payload.reason or "",
        note=payload.note,
        by=request.auth,
        idempotency_key=claimed_key(request),
        key_claimed=True,
    )
    return Status(201, posting)


@router.post("/depots/{depot_id}/disposals", response={201: PostingOut}, auth=SIGNED_IN)
def dispose(request: AuthedRequest, depot_id: Id, payload: DisposalIn):
    """Write off every expired lot of an item."""
    depot = depot_for(request.auth, depot_id)
    posting = services.dispose_expired(
        depot=depot,
        item=item_for(payload.item_id),
        note=payload.note,
        by=request.auth,
        idempotency_key=claimed_key(request),
        key_claimed=True,
    )
    return Status(201, posting)


@router.get("/movements", response=list[MovementOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_movements(request: AuthedRequest, filters: MovementFilter = Query(...)):
    """The ledger, newest first."""
    movements = Movement.objects.filter(depot__in=Depot.objects.visible_to(request.auth))
    return filters.filter(movements).select_related("lot", "by")


class SheetQuery(Schema):
    format: Literal["xlsx", "csv"] = "xlsx"


SHEET_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
MAX_SHEET_BYTES = settings.SHEET_MAX_BYTES


@router.get("/depots/{depot_id}/stock-sheet", auth=SIGNED_IN)
def stock_sheet(request: AuthedRequest, depot_id: Id, query: SheetQuery = Query(...)):
    """The depot's lots with book quantities and an empty 実数 column to count into."""
    depot = depot_for(request.auth, depot_id)
    build = sheets.stock_sheet_xlsx if query.format == "xlsx" else sheets.stock_sheet_csv
    response = HttpResponse(build(depot), content_type=SHEET_TYPES[query.format])
    filename = f"stock-{depot.pk}-{timezone.localdate():%Y%m%d}.{query.format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/depots/{depot_id}/count-sheet", response={201: CountSheetOut}, auth=SIGNED_IN)
def upload_count_sheet(request: AuthedRequest, depot_id: Id, file: UploadedFile = File(...)):
    """A filled-in stock sheet (.xlsx or .csv) as a count: all rows or none."""
    depot = depot_for(request.auth, depot_id)
    if file.size is not None and file.size > MAX_SHEET_BYTES:
        raise Invalid(
            fields={
                "file": _("%(mb)s MB までのファイルにしてください。")
                % {"mb": MAX_SHEET_BYTES // (1024 * 1024)}
            }
        )
    rows = sheets.parse_count_sheet(file.read(), file.name or "")
    postings = sheets.apply_count_sheet(
        depot, rows, request.auth, idempotency_key=claimed_key(request), key_claimed=True
    )
    return Status(
        201,
        {
            "rows_counted": len(rows),
            "rows_adjusted": sum(1 for p in postings if p.movements),
            "movements": [m for p in postings for m in p.movements],
        },
    )


# Transfers --------------------------------------------------------------------------------


def _transfers():
    return Transfer.objects.select_related("from_depot", "to_depot", "item", "request_line")


def _transfer_for(user, transfer_id: int, *, side: str | None = None) -> Transfer:
    """The transfer, if the user may see it (staff; a manager at either end, or at `side`)."""
    transfer = _transfers().filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound(_("移送 %(id)s はありません。") % {"id": transfer_id})
    ends = [transfer.from_depot, transfer.to_depot]
    if side is not None:
        ends = [getattr(transfer, side)]
    if not any(may_use_depot(user, depot) for depot in ends):
        raise Forbidden(_("この移送を扱う権限がありません。"))
    return transfer


@router.get("/transfers", response=list[TransferOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_transfers(request: AuthedRequest, filters: TransferFilter = Query(...)):
    mine = Depot.objects.visible_to(request.auth)
    transfers = _transfers().filter(Q(from_depot__in=mine) | Q(to_depot__in=mine))
    return filters.filter(transfers).prefetch_related("lots")


@router.post("/transfers", response={201: TransferOut}, auth=STAFF)
def plan_transfer(request: AuthedRequest, payload: TransferIn):
    """Plan a transfer between two depots (optionally for a request line, optionally
    dispatching it at once)."""
    line = None
    if payload.request_line_id is not None:
        line = (
            SupplyRequestLine.objects.select_related("request")
            .filter(pk=payload.request_line_id)
            .first()
        )
        if line is None:
            raise Invalid(fields={"request_line_id": _("要請の明細がありません。")})
    transfer = services.plan_transfer(
        from_depot=depot_field(request.auth, payload.from_depot_id, "from_depot_id"),
        to_depot=depot_field(request.auth, payload.to_depot_id, "to_depot_id"),
        item=item_for(payload.item_id),
        quantity=payload.quantity,
        request_line=line,
        note=payload.note,
        dispatch=payload.dispatch,
        by=request.auth,
        idempotency_key=claimed_key(request),
    )
    return Status(201, _transfers().get(pk=transfer.pk))


@router.get("/transfers/{transfer_id}", response=TransferOut, auth=SIGNED_IN)
def get_transfer(request: AuthedRequest, transfer_id: Id):
    return _transfer_for(request.auth, transfer_id)


@router.post("/transfers/{transfer_id}/dispatch", response=TransferOut, auth=SIGNED_IN)
def dispatch_transfer(request: AuthedRequest, transfer_id: Id):
    """The sender loads the stock: it leaves their shelves and is in transit."""
    _transfer_for(request.auth, transfer_id, side="from_depot")
    services.dispatch_transfer(
        transfer_id=transfer_id, by=request.auth, idempotency_key=claimed_key(request)
    )
    return _transfers().get(pk=transfer_id)


@router.post("/transfers/{transfer_id}/receive", response=TransferOut, auth=SIGNED_IN)
def receive_transfer(request: AuthedRequest, transfer_id: Id):
    """The receiver confirms arrival: the stock joins their shelves."""
    _transfer_for(request.auth, transfer_id, side="to_depot")
    services.receive_transfer(
        transfer_id=transfer_id, by=request.auth, idempotency_key=claimed_key(request)
    )
    return _transfers().get(pk=transfer_id)


@router.post("/transfers/{transfer_id}/cancel", response=TransferOut, auth=STAFF)
def cancel_transfer(request: AuthedRequest, transfer_id: Id):
    _transfer_for(request.auth, transfer_id)
    services.cancel_transfer(transfer_id=transfer_id, by=request.auth)
    return _transfers().get(pk=transfer_id)


# Supply requests --------------------------------------------------------------------------


def _requests():
    return SupplyRequest.objects.select_related("depot", "created_by")


def _request_for(user, request_id: int) -> SupplyRequest:
    supply_request = _requests().filter(pk=request_id).first()
    if supply_request is None:
        raise NotFound(_("物資要請 %(id)s はありません。") % {"id": request_id})
    if not may_use_depot(user, supply_request.depot):
        raise Forbidden(_("この要請を扱う権限がありません。"))
    return supply_request


@router.get("/supply-requests", response=list[SupplyRequestOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_supply_requests(request: AuthedRequest, filters: SupplyRequestFilter = Query(...)):
    """Requests, newest first, each line with what is committed, in transit and received."""
    return filters.filter(_requests().filter(depot__in=Depot.objects.visible_to(request.auth)))


@router.post("/supply-requests", response={201: SupplyRequestOut}, auth=SIGNED_IN)
def request_supplies(request: AuthedRequest, payload: SupplyRequestIn):
    depot = depot_field(request.auth, payload.depot_id, "depot_id")
    lines = [
        (item_for(line.item_id, f"lines.{n}.item_id"), line.quantity)
        for n, line in enumerate(payload.lines)
    ]
    supply_request = services.request_supplies(
        depot=depot, lines=lines, urgency=payload.urgency, note=payload.note, by=request.auth
    )
    return Status(201, _requests().get(pk=supply_request.pk))


@router.get("/supply-requests/{request_id}", response=SupplyRequestOut, auth=SIGNED_IN)
def get_supply_request(request: AuthedRequest, request_id: Id):
    return _request_for(request.auth, request_id)


@router.post("/supply-requests/{request_id}/approve", response=SupplyRequestOut, auth=STAFF)
def approve_supply_request(request: AuthedRequest, request_id: Id, payload: DecisionIn):
    _request_for(request.auth, request_id)
    services.approve_request(request_id=request_id, by=request.auth, note=payload.note)
    return _requests().get(pk=request_id)


@router.post("/supply-requests/{request_id}/reject", response=SupplyRequestOut, auth=STAFF)
def reject_supply_request(request: AuthedRequest, request_id: Id, payload: DecisionIn):
    _request_for(request.auth, request_id)
    services.reject_request(request_id=request_id, by=request.auth, note=payload.note)
    return _requests().get(pk=request_id)


@router.post("/supply-requests/{request_id}/cancel", response=SupplyRequestOut, auth=SIGNED_IN)
def cancel_supply_request(request: AuthedRequest, request_id: Id, payload: DecisionIn):
    """The shelter withdraws its request (possible until stock has been sent for it)."""
    _request_for(request.auth, request_id)
    services.cancel_request(request_id=request_id, by=request.auth, note=payload.note)
    return _requests().get(pk=request_id)


# Derived figures --------------------------------------------------------------------------


class ThresholdQuery(Schema):
    threshold_days: float | None = Field(
        None, gt=0, le=365, description="既定は STOCK_SHORTAGE_DAYS"
    )


@router.get("/stock/shortages", response=list[ShortageOut], auth=STAFF)
@paginate(Paginated)
def list_shortages(request: HttpRequest, query: ThresholdQuery = Query(...)):
    """Every depot and item that runs out within the threshold, soonest first."""
    return [vars(level) for level in coverage.shortages(query.threshold_days)]


@router.get("/stock/city", response=list[CityItemOut], auth=STAFF)
@paginate(Paginated)
def city_stock(request: HttpRequest, query: ThresholdQuery = Query(...)):
    """One line per item for the whole city."""
    return [vars(line) for line in coverage.city(query.threshold_days)]


class ExpiringQuery(Schema):
    within_days: int = Field(default_factory=lambda: settings.STOCK_ROTATION_DAYS, ge=0, le=3650)
    depot: Id | None = None


@router.get("/stock/expiring", response=list[ExpiringOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_expiring(request: AuthedRequest, query: ExpiringQuery = Query(...)):
    """Lots expired or expiring within `within_days`, with what to do with each: dispose,
    hand out first, or use in a drill / rotate (ローリングストック) while still good."""
    depots = Depot.objects.visible_to(request.auth)
    if query.depot is not None:
        depots = [depot_for(request.auth, query.depot)]
    return [
        {
            "lot": e.lot,
            "depot": e.lot.depot,
            "item": e.lot.item,
            "days_left": e.days_left,
            "suggestion": e.suggestion,
        }
        for e in coverage.expiring(query.within_days, depots)
    ]


class ProposalQuery(Schema):
    depot_id: Id
    item_id: Id


def _proposal(depot_id: int, item_id: int) -> coverage.Proposal:
    depot = Depot.objects.filter(pk=depot_id).first()
    if depot is None:
        raise Invalid(fields={"depot_id": _("備蓄倉庫 %(id)s はありません。") % {"id": depot_id}})
    proposal = coverage.propose_transfer(depot, item_for(item_id))
    if proposal is None:
        raise NotFound(_("送れる余剰のある倉庫がないか、不足していません。"))
    return proposal


@router.get("/stock/proposal", response=ProposalOut, auth=STAFF)
def propose_transfer(request: HttpRequest, query: ProposalQuery = Query(...)):
    """The nearest depot with surplus, and how much to send to lift this one back to twice
    the shortage threshold."""
    return vars(_proposal(query.depot_id, query.item_id))


@router.post("/stock/proposal", response={201: TransferOut}, auth=STAFF)
def accept_proposal(request: AuthedRequest, payload: ProposalIn):
    """Create the proposed transfer in one action (and dispatch it, if asked)."""
    proposal = _proposal(payload.depot_id, payload.item_id)
    transfer = services.plan_proposed(
        proposal, dispatch=payload.dispatch, by=request.auth, idempotency_key=claimed_key(request)
    )
    return Status(201, _transfers().get(pk=transfer.pk))
