"""The stock ledger (DESIGN decision 2): one function per thing a user does with stock.

On-hand changes only here, and only together with the Movement that explains it, in one
transaction. Lots are locked (SELECT … FOR UPDATE, soonest expiry first, so every writer
takes them in the same order and none deadlocks) before anything is taken out of them, and
the lot table's CHECK (on_hand >= 0) refuses what a bug might still let through.

The ledger itself is the audit trail of stock (append-only, with who, when and why), so
movements are not copied into the audit log; requests and transfers are.

Every function that moves stock takes an optional `idempotency_key`, which its movements
carry: a second call with the same key changes nothing and returns what the first one wrote.
A caller that has already made the key once-only in the same transaction (the API, through
the idempotency middleware's claim) says `key_claimed=True`: the key is then only written
with the movements, without the lock and look-up a replay check costs. Transfers record the
key without a replay check of their own: their status refuses a second dispatch or receipt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from disaster.core import audit
from disaster.core.errors import Conflict, Invalid
from disaster.core.events import publish
from disaster.core.models import User
from stockpile import coverage
from stockpile.models import (
    Depot,
    Item,
    Lot,
    Movement,
    SupplyRequest,
    SupplyRequestLine,
    Transfer,
    TransferLot,
)

# A lot can hold at most this many units; a bigger number is a typing slip.
MAX_QUANTITY = 10_000_000


@dataclass(frozen=True)
class Posting:
    """What one ledger action wrote: its movements, and the new on-hand of the item."""

    movements: list[Movement]
    on_hand: int

    @property
    def quantity(self) -> int:
        return sum(m.quantity for m in self.movements)


def _check_quantity(quantity: int, field: str = "quantity") -> None:
    if quantity <= 0:
        raise Invalid(fields={field: _("1 以上の数を指定してください。")})
    if quantity > MAX_QUANTITY:
        raise Invalid(
            fields={field: _("%(max)s 以下の数を指定してください。") % {"max": MAX_QUANTITY}}
        )


# Keeps the per-key advisory locks below apart from the project's other advisory locks.
_IDEMPOTENCY_LOCKS = 0x4C_45_44  # "LED"(ger)


def _replayed(
    idempotency_key: str | None, depot: Depot, item: Item, key_claimed: bool = False
) -> Posting | None:
    if not idempotency_key or key_claimed:
        return None
    # A concurrent call with the same key waits here until the first one commits, then
    # finds its movements and replays them (instead of failing on the unique index).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_IDEMPOTENCY_LOCKS, idempotency_key]
        )
    first = Movement.objects.filter(idempotency_key=idempotency_key).first()
    if first is None:
        return None
    if (first.depot_id, first.item_id) != (depot.pk, item.pk):
        raise Invalid(
            fields={"idempotency_key": _("このキーは別の品目・倉庫の記録に使われています。")}
        )
    siblings = Movement.objects.filter(
        Q(idempotency_key=idempotency_key) | Q(idempotency_key__startswith=f"{idempotency_key}/"),
        depot=depot,
        item=item,
        at=first.at,
    ).order_by("id")
    return Posting(list(siblings), on_hand_of(depot, item))


def _line_key(idempotency_key: str | None, index: int) -> str | None:
    """The first movement of a posting carries the key; the others `key/1`, `key/2`, …"""
    if not idempotency_key:
        return None
    return idempotency_key if index == 0 else f"{idempotency_key}/{index}"


def on_hand_of(depot: Depot, item: Item) -> int:
    total = Lot.objects.filter(depot=depot, item=item).aggregate(total=Sum("on_hand"))["total"]
    return total or 0


def _shortage(item: Item, available: int) -> Conflict:
    return Conflict(
        _("在庫が足りません（使用できる在庫: %(available)s %(unit)s）。")
        % {"available": available, "unit": item.unit_ja},
        fields={"quantity": _("%(available)s 以下にしてください。") % {"available": available}},
        available=available,
    )


# Taking stock out, in one statement: lock every lot of the item in the depot (soonest
# expiry first, the order every writer locks them in), choose the usable ones first-expiring
# first (FEFO) until the quantity is reached, take it out of them and write one movement per
# lot. Nothing is written when the usable lots hold too little. Every row says how much was
# usable and what the item's lots held before; a row per movement adds it and its lot.
# The new on-hand is computed from the locked row, not `lot.on_hand`: the UPDATE reads with
# the statement's snapshot, and PostgreSQL checks CHECK (on_hand >= 0) on the row computed
# from that (perhaps older) version before it moves on to the locked one, so a lot that a
# receipt raised while this statement waited for its lock would be refused for nothing.
# The locked value is the current one: no one else may change the lot until we commit.
_TAKE_OUT = f"""
WITH lots AS MATERIALIZED (
    SELECT id, expires_on, source, on_hand, created_at
    FROM {Lot._meta.db_table}
    WHERE depot_id = %s AND item_id = %s
    ORDER BY expires_on ASC NULLS LAST, id
    FOR UPDATE
),
usable AS (
    SELECT id, on_hand,
           sum(on_hand) OVER (ORDER BY expires_on ASC NULLS LAST, id) - on_hand AS before
    FROM lots
    WHERE on_hand > 0 AND (expires_on IS NULL OR expires_on >= %s::date)
),
available AS (SELECT coalesce(sum(on_hand), 0)::int AS total FROM usable),
taken AS (
    SELECT id, on_hand, least(on_hand, %s - before)::int AS part,
           row_number() OVER (ORDER BY before) - 1 AS place
    FROM usable, available
    WHERE before < %s AND available.total >= %s
),
lowered AS (
    UPDATE {Lot._meta.db_table} AS lot SET on_hand = taken.on_hand - taken.part
    FROM taken WHERE lot.id = taken.id
    RETURNING lot.id
),
moved AS (
    INSERT INTO {Movement._meta.db_table}
        (kind, lot_id, depot_id, item_id, quantity, reason, transfer_id, note, by_id, at,
         idempotency_key)
    SELECT %s, id, %s, %s, -part, '', %s::int, %s, %s::int, %s::timestamptz,
           CASE place WHEN 0 THEN %s::text ELSE %s::text || '/' || place END
    FROM taken
    ORDER BY place
    RETURNING id, lot_id, quantity, idempotency_key
)
SELECT (SELECT total FROM available),
       (SELECT coalesce(sum(on_hand), 0)::int FROM lots),
       (SELECT count(*)::int FROM lowered),
       moved.id, moved.quantity, moved.idempotency_key,
       lots.id, lots.expires_on, lots.source, lots.on_hand, lots.created_at
FROM (VALUES (0)) AS answer
LEFT JOIN moved ON true
LEFT JOIN lots ON lots.id = moved.lot_id
LEFT JOIN taken ON taken.id = moved.lot_id
ORDER BY taken.place
"""  # noqa: S608 (table names are ours)


def _take_out(
    kind: str,
    depot: Depot,
    item: Item,
    quantity: int,
    *,
    by: User | None,
    note: str = "",
    transfer: Transfer | None = None,
    idempotency_key: str | None = None,
) -> tuple[Posting | None, int]:
    """Take `quantity` out of the depot's usable lots of the item, first-expiring first
    (expired lots are never handed out), with a movement per lot: the posting, and how much
    was usable. When that is too little nothing is written and the posting is None.
    Publishes no event (see `_announce`)."""
    at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _TAKE_OUT,
            [
                *(depot.pk, item.pk, timezone.localdate()),
                *(quantity, quantity, quantity),
                *(kind, depot.pk, item.pk, transfer.pk if transfer else None, note),
                *(by.pk if by else None, at, idempotency_key, idempotency_key),
            ],
        )
        rows = cursor.fetchall()
    available, held, lowered = rows[0][:3]
    if rows[0][3] is None:
        return None, available
    movements = []
    for row in rows:
        movement_id, part, key, lot_id, expires_on, source, before, created_at = row[3:]
        lot = Lot(
            id=lot_id,
            depot=depot,
            item=item,
            expires_on=expires_on,
            source=source,
            on_hand=before + part,
            created_at=created_at,
        )
        movement = Movement(
            id=movement_id,
            kind=kind,
            lot=lot,
            depot=depot,
            item=item,
            quantity=part,
            note=note,
            by=by,
            at=at,
            transfer=transfer,
            idempotency_key=key,
        )
        for instance in (lot, movement):
            instance._state.adding = False
            instance._state.db = connection.alias
        movements.append(movement)
    if lowered != len(movements):  # every movement's lot lowered with it, or nothing is kept
        raise RuntimeError(f"{len(movements)} movements but {lowered} lots lowered")
    return Posting(movements, held - quantity), available


def _add_to_lot(
    depot: Depot, item: Item, expires_on: dt.date | None, source: str, quantity: int
) -> int:
    """Add to (or create) the lot with this expiry and source in one statement; its id.
    A lot never holds more than MAX_QUANTITY: a receipt that would take it past is refused
    (422 on `quantity`), where the sum would otherwise overflow the column (a 500)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Lot._meta.db_table} AS lot
                (depot_id, item_id, expires_on, source, on_hand, created_at)
            VALUES (%s, %s, %s, %s, %s, now())
            ON CONFLICT (depot_id, item_id, expires_on, source)
            DO UPDATE SET on_hand = lot.on_hand + EXCLUDED.on_hand
                WHERE lot.on_hand <= %s - EXCLUDED.on_hand
            RETURNING id
            """,  # noqa: S608 (table name is ours)
            [depot.pk, item.pk, expires_on, source, quantity, MAX_QUANTITY],
        )
        added = cursor.fetchone()
    if added is None:
        held = Lot.objects.get(depot=depot, item=item, expires_on=expires_on, source=source).on_hand
        raise Invalid(
            _("1つのロットの在庫は %(max)s までです。") % {"max": f"{MAX_QUANTITY:,}"},
            fields={
                "quantity": _("このロットにはあと %(room)s までです。")
                % {"room": f"{MAX_QUANTITY - held:,}"}
            },
        )
    return added[0]


def _post(
    kind: str,
    depot: Depot,
    item: Item,
    lines: Sequence[tuple[int, int]],
    *,
    by: User | None,
    note: str = "",
    reason: str = "",
    transfer: Transfer | None = None,
    idempotency_key: str | None = None,
) -> Posting:
    """Write the movements of one action: `lines` are (lot id, signed quantity), already
    applied to the lots. Publishes one `stock.moved` event for the whole action."""
    at = timezone.now()
    movements = Movement.objects.bulk_create(
        Movement(
            kind=kind,
            lot_id=lot_id,
            depot=depot,
            item=item,
            quantity=quantity,
            reason=reason,
            note=note,
            by=by,
            at=at,
            transfer=transfer,
            idempotency_key=_line_key(idempotency_key, index),
        )
        for index, (lot_id, quantity) in enumerate(lines)
    )
    # One read gives both the new on-hand and each movement's lot (its expiry is part of
    # the answer), instead of a SUM and then a query per movement.
    lots = Lot.objects.filter(depot=depot, item=item).in_bulk()
    for movement in movements:
        movement.lot = lots[movement.lot_id]
    posting = Posting(movements, sum(lot.on_hand for lot in lots.values()))
    _announce(kind, depot, item, posting, transfer)
    return posting


def _announce(
    kind: str, depot: Depot, item: Item, posting: Posting, transfer: Transfer | None
) -> None:
    """One `stock.moved` event for the whole action (sent once the transaction commits)."""
    publish(
        "stock.moved",
        {
            "kind": kind,
            "depot_id": depot.pk,
            "shelter_id": depot.shelter_id,
            "item_id": item.pk,
            "quantity": posting.quantity,
            "on_hand": posting.on_hand,
            "movement_ids": [m.pk for m in posting.movements],
            "transfer_id": transfer.pk if transfer else None,
        },
    )


@transaction.atomic
def receive_stock(
    *,
    depot: Depot,
    item: Item,
    quantity: int,
    expires_on: dt.date | None,
    source: str = Lot.Source.PROCURED,
    by: User | None,
    note: str = "",
    idempotency_key: str | None = None,
    key_claimed: bool = False,
) -> Posting:
    """Receive `quantity` of `item` into `depot`, joining the lot with the same expiry."""
    if done := _replayed(idempotency_key, depot, item, key_claimed):
        return done
    _check_quantity(quantity)
    if expires_on is not None and expires_on < timezone.localdate():
        raise Invalid(fields={"expires_on": _("有効期限が過ぎています。")})
    if source not in Lot.Source.values:
        raise Invalid(fields={"source": _("調達区分が正しくありません。")})
    lot_id = _add_to_lot(depot, item, expires_on, source, quantity)
    return _post(
        Movement.Kind.RECEIVE,
        depot,
        item,
        [(lot_id, quantity)],
        by=by,
        note=note,
        idempotency_key=idempotency_key,
    )


def issue_stock(
    *,
    depot: Depot,
    item: Item,
    quantity: int,
    by: User | None,
    note: str = "",
    idempotency_key: str | None = None,
    key_claimed: bool = False,
) -> Posting:
    """Hand out `quantity` of `item`, soonest-expiring lots first; expired lots are never
    handed out. Refused with 409 (and what is available) if there is not enough."""
    _check_quantity(quantity)
    # No savepoint inside the caller's transaction (the API's, which holds the idempotency
    # claim): the refusal is raised outside this block, after a statement that wrote nothing,
    # so the caller can still record its answer; any other error in here spoils the caller's
    # transaction (Django then refuses to commit it), so nothing half-done is ever kept.
    with transaction.atomic(savepoint=False):
        if done := _replayed(idempotency_key, depot, item, key_claimed):
            return done
        posting, available = _take_out(
            Movement.Kind.ISSUE,
            depot,
            item,
            quantity,
            by=by,
            note=note,
            idempotency_key=idempotency_key,
        )
        if posting is not None:
            _announce(Movement.Kind.ISSUE, depot, item, posting, None)
    if posting is None:
        raise _shortage(item, available)
    return posting


@transaction.atomic
def count_stock(
    *,
    depot: Depot,
    item: Item,
    expires_on: dt.date | None,
    source: str = Lot.Source.PROCURED,
    counted: int,
    reason: str = "",
    by: User | None,
    note: str = "",
    idempotency_key: str | None = None,
    key_claimed: bool = False,
) -> Posting:
    """Record a count (棚卸) of one lot: the difference from the books becomes an adjust
    movement with its reason. A count that matches the books writes nothing."""
    if done := _replayed(idempotency_key, depot, item, key_claimed):
        return done
    if counted < 0 or counted > MAX_QUANTITY:
        raise Invalid(
            fields={
                "counted": _("0 以上 %(max)s 以下の数を指定してください。") % {"max": MAX_QUANTITY}
            }
        )
    if source not in Lot.Source.values:
        raise Invalid(fields={"source": _("調達区分が正しくありません。")})
    lot = (
        Lot.objects.select_for_update()
        .filter(depot=depot, item=item, expires_on=expires_on, source=source)
        .first()
    )
    difference = counted - (lot.on_hand if lot else 0)
    if difference == 0:
        return Posting([], on_hand_of(depot, item))
    if reason not in Movement.Reason.values:
        raise Invalid(fields={"reason": _("帳簿と数が違うときは理由を選んでください。")})
    if lot is None:
        lot_id = _add_to_lot(depot, item, expires_on, source, difference)
    else:
        Lot.objects.filter(pk=lot.pk).update(on_hand=F("on_hand") + difference)
        lot_id = lot.pk
    return _post(
        Movement.Kind.ADJUST,
        depot,
        item,
        [(lot_id, difference)],
        by=by,
        note=note,
        reason=reason,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def dispose_expired(
    *,
    depot: Depot,
    item: Item,
    by: User | None,
    note: str = "",
    idempotency_key: str | None = None,
    key_claimed: bool = False,
) -> Posting:
    """Write off every lot of `item` in `depot` whose expiry date has passed."""
    if done := _replayed(idempotency_key, depot, item, key_claimed):
        return done
    expired = list(
        Lot.objects.select_for_update()
        .filter(depot=depot, item=item, on_hand__gt=0, expires_on__lt=timezone.localdate())
        .order_by("expires_on", "id")
    )
    if not expired:
        raise Conflict(_("期限切れの在庫はありません。"))
    for lot in expired:
        Lot.objects.filter(pk=lot.pk).update(on_hand=F("on_hand") - lot.on_hand)
    return _post(
        Movement.Kind.DISPOSE,
        depot,
        item,
        [(lot.pk, -lot.on_hand) for lot in expired],
        by=by,
        note=note,
        reason=Movement.Reason.EXPIRED,
        idempotency_key=idempotency_key,
    )


# Transfers -------------------------------------------------------------------------------


def _transfer_event(kind: str, transfer: Transfer) -> None:
    publish(
        kind,
        {
            "transfer_id": transfer.pk,
            "status": transfer.status,
            "from_depot_id": transfer.from_depot_id,
            "to_depot_id": transfer.to_depot_id,
            "item_id": transfer.item_id,
            "quantity": transfer.quantity,
            "request_id": transfer.request_line.request_id if transfer.request_line else None,
        },
    )


def _locked_transfer(transfer_id: int, *expected: str) -> Transfer:
    # Only the transfer row is locked: request_line is a nullable (outer) join, which
    # PostgreSQL refuses to lock, and the depots and item need no lock.
    transfer = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("from_depot", "to_depot", "item", "request_line")
        .get(pk=transfer_id)
    )
    if transfer.status not in expected:
        raise Conflict(
            _("この移送は「%(status)s」のため、この操作はできません。")
            % {"status": transfer.get_status_display()},
            status_now=transfer.status,
        )
    return transfer


@transaction.atomic
def plan_transfer(
    *,
    from_depot: Depot,
    to_depot: Depot,
    item: Item,
    quantity: int,
    by: User | None,
    request_line: SupplyRequestLine | None = None,
    note: str = "",
    dispatch: bool = False,
    idempotency_key: str | None = None,
) -> Transfer:
    """Plan sending stock between depots (to fulfil a request line, or on its own).
    With `dispatch`, the stock leaves at once (its movements carry `idempotency_key`)."""
    _check_quantity(quantity)
    if from_depot.pk == to_depot.pk:
        raise Invalid(fields={"to_depot_id": _("送り元と送り先が同じです。")})
    if request_line is not None:
        if request_line.item_id != item.pk or request_line.request.depot_id != to_depot.pk:
            raise Invalid(fields={"request_line_id": _("要請の品目・送り先と一致しません。")})
        if request_line.request.status != SupplyRequest.Status.APPROVED:
            raise Conflict(_("承認された要請にだけ移送を割り当てられます。"))
    transfer = Transfer.objects.create(
        from_depot=from_depot,
        to_depot=to_depot,
        item=item,
        quantity=quantity,
        request_line=request_line,
        note=note,
        created_by=by,
    )
    audit.record(by, "transfer.plan", transfer, after=audit.snapshot(transfer))
    if dispatch:
        return dispatch_transfer(transfer_id=transfer.pk, by=by, idempotency_key=idempotency_key)
    _transfer_event("transfer.planned", transfer)
    return transfer


@transaction.atomic
def dispatch_transfer(
    *, transfer_id: int, by: User | None, idempotency_key: str | None = None
) -> Transfer:
    """The stock leaves the sender (soonest expiry first) and is in transit."""
    transfer = _locked_transfer(transfer_id, Transfer.Status.PLANNED)
    posting, available = _take_out(
        Movement.Kind.TRANSFER_OUT,
        transfer.from_depot,
        transfer.item,
        transfer.quantity,
        by=by,
        transfer=transfer,
        idempotency_key=idempotency_key,
    )
    if posting is None:
        raise _shortage(transfer.item, available)
    TransferLot.objects.bulk_create(
        TransferLot(
            transfer=transfer,
            expires_on=m.lot.expires_on,
            source=m.lot.source,
            quantity=-m.quantity,
        )
        for m in posting.movements
    )
    before = audit.snapshot(transfer)
    transfer.status = Transfer.Status.DISPATCHED
    transfer.dispatched_at = timezone.now()
    transfer.dispatched_by = by
    transfer.save(update_fields=["status", "dispatched_at", "dispatched_by"])
    audit.record(by, "transfer.dispatch", transfer, before=before, after=audit.snapshot(transfer))
    _announce(Movement.Kind.TRANSFER_OUT, transfer.from_depot, transfer.item, posting, transfer)
    _transfer_event("transfer.dispatched", transfer)
    return transfer


@transaction.atomic
def receive_transfer(
    *, transfer_id: int, by: User | None, idempotency_key: str | None = None
) -> Transfer:
    """The stock arrives: the same lots (expiry, source) are rebuilt at the receiver."""
    transfer = _locked_transfer(transfer_id, Transfer.Status.DISPATCHED)
    lines = [
        (
            _add_to_lot(
                transfer.to_depot, transfer.item, part.expires_on, part.source, part.quantity
            ),
            part.quantity,
        )
        for part in transfer.lots.order_by("id")
    ]
    before = audit.snapshot(transfer)
    transfer.status = Transfer.Status.RECEIVED
    transfer.received_at = timezone.now()
    transfer.received_by = by
    transfer.save(update_fields=["status", "received_at", "received_by"])
    audit.record(by, "transfer.receive", transfer, before=before, after=audit.snapshot(transfer))
    _post(
        Movement.Kind.TRANSFER_IN,
        transfer.to_depot,
        transfer.item,
        lines,
        by=by,
        transfer=transfer,
        idempotency_key=idempotency_key,
    )
    if transfer.request_line is not None:
        _close_request_if_fulfilled(transfer.request_line.request_id, by)
    _transfer_event("transfer.received", transfer)
    return transfer


@transaction.atomic
def cancel_transfer(*, transfer_id: int, by: User | None) -> Transfer:
    """Call off a transfer that has not left yet."""
    transfer = _locked_transfer(transfer_id, Transfer.Status.PLANNED)
    before = audit.snapshot(transfer)
    transfer.status = Transfer.Status.CANCELLED
    transfer.save(update_fields=["status"])
    audit.record(by, "transfer.cancel", transfer, before=before, after=audit.snapshot(transfer))
    _transfer_event("transfer.cancelled", transfer)
    return transfer


# Supply requests -------------------------------------------------------------------------


def _request_event(kind: str, request: SupplyRequest) -> None:
    publish(
        kind,
        {
            "request_id": request.pk,
            "depot_id": request.depot_id,
            "shelter_id": request.depot.shelter_id,
            "status": request.status,
            "urgency": request.urgency,
        },
    )


@transaction.atomic
def request_supplies(
    *,
    depot: Depot,
    lines: Iterable[tuple[Item, int]],
    urgency: str,
    by: User | None,
    note: str = "",
) -> SupplyRequest:
    """A shelter asks for supplies: one line per item."""
    lines = list(lines)
    if not lines:
        raise Invalid(fields={"lines": _("品目を 1 つ以上指定してください。")})
    items = [item.pk for item, _ in lines]
    if len(set(items)) != len(items):
        raise Invalid(fields={"lines": _("同じ品目が 2 回あります。数量をまとめてください。")})
    for index, (_item, quantity) in enumerate(lines):
        _check_quantity(quantity, f"lines.{index}.quantity")
    request = SupplyRequest.objects.create(depot=depot, urgency=urgency, note=note, created_by=by)
    SupplyRequestLine.objects.bulk_create(
        SupplyRequestLine(request=request, item=item, quantity=quantity) for item, quantity in lines
    )
    audit.record(by, "supply_request.create", request, after=audit.snapshot(request))
    _request_event("supply_request.created", request)
    return request


def _decide(request_id: int, by: User | None, status: str, note: str, *expected: str):
    request = (
        SupplyRequest.objects.select_for_update(of=("self",))
        .select_related("depot")
        .get(pk=request_id)
    )
    if request.status not in expected:
        raise Conflict(
            _("この要請は「%(status)s」のため、この操作はできません。")
            % {"status": request.get_status_display()},
            status_now=request.status,
        )
    before = audit.snapshot(request)
    request.status = status
    request.decided_at = timezone.now()
    request.decided_by = by
    request.decision_note = note
    request.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    audit.record(
        by, f"supply_request.{status}", request, before=before, after=audit.snapshot(request)
    )
    _request_event(f"supply_request.{status}", request)
    return request


def approve_request(*, request_id: int, by: User | None, note: str = "") -> SupplyRequest:
    with transaction.atomic():
        return _decide(
            request_id, by, SupplyRequest.Status.APPROVED, note, SupplyRequest.Status.REQUESTED
        )


def reject_request(*, request_id: int, by: User | None, note: str = "") -> SupplyRequest:
    if not note.strip():
        raise Invalid(fields={"note": _("却下の理由を書いてください。")})
    with transaction.atomic():
        return _decide(
            request_id, by, SupplyRequest.Status.REJECTED, note, SupplyRequest.Status.REQUESTED
        )


def cancel_request(*, request_id: int, by: User | None, note: str = "") -> SupplyRequest:
    """The shelter withdraws its request (before any stock was sent for it)."""
    with transaction.atomic():
        sent = Transfer.objects.filter(request_line__request_id=request_id).exclude(
            status__in=[Transfer.Status.PLANNED, Transfer.Status.CANCELLED]
        )
        if sent.exists():
            raise Conflict(_("すでに発送された物資があるため取り下げられません。"))
        request = _decide(
            request_id,
            by,
            SupplyRequest.Status.CANCELLED,
            note,
            SupplyRequest.Status.REQUESTED,
            SupplyRequest.Status.APPROVED,
        )
        for transfer in Transfer.objects.filter(
            request_line__request=request, status=Transfer.Status.PLANNED
        ):
            cancel_transfer(transfer_id=transfer.pk, by=by)
        return request


def _close_request_if_fulfilled(request_id: int, by: User | None) -> None:
    lines = SupplyRequestLine.objects.filter(request_id=request_id).with_progress()
    if all(line.received >= line.quantity for line in lines):
        _decide(request_id, by, SupplyRequest.Status.FULFILLED, "", SupplyRequest.Status.APPROVED)


def plan_proposed(
    proposal: coverage.Proposal,
    *,
    by: User | None,
    dispatch: bool = False,
    idempotency_key: str | None = None,
) -> Transfer:
    """Plan (and, if asked, dispatch) the transfer proposed for a shortage."""
    return plan_transfer(
        from_depot=proposal.from_depot,
        to_depot=proposal.to_depot,
        item=proposal.item,
        quantity=proposal.quantity,
        note=_("不足への移送提案から作成"),
        dispatch=dispatch,
        by=by,
        idempotency_key=idempotency_key,
    )


def plan_for_line(*, line: SupplyRequestLine, by: User | None) -> Transfer | None:
    """Commit what a line of an approved request still lacks with the proposed transfer
    (from the nearest depot that can spare it); None when no depot can spare any."""
    proposal = coverage.propose_for_line(line)
    if proposal is None:
        return None
    return plan_transfer(
        from_depot=proposal.from_depot,
        to_depot=proposal.to_depot,
        item=proposal.item,
        quantity=proposal.quantity,
        request_line=line,
        note=_("要請への移送提案から作成"),
        by=by,
    )


@transaction.atomic
def approve_and_plan(
    *, request_id: int, by: User | None, note: str = ""
) -> tuple[SupplyRequest, list[Transfer]]:
    """Approve a request and commit each of its lines with the proposed transfer, in one
    transaction: the tablet sees the request approved with what is on its way."""
    request = approve_request(request_id=request_id, by=by, note=note)
    lines = (
        SupplyRequestLine.objects.filter(request=request)
        .with_progress()
        .select_related("item", "request__depot")
    )
    planned = [plan_for_line(line=line, by=by) for line in lines]
    return request, [t for t in planned if t is not None]
