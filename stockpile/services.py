"""The stock ledger: every change of on-hand is a Movement written in the same transaction."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from disaster import audit
from disaster.errors import Invalid
from disaster.events import publish
from disaster.models import User
from stockpile.models import Depot, Item, Lot, Movement


@transaction.atomic
def receive_stock(
    *,
    depot: Depot,
    item: Item,
    quantity: int,
    expires_on: dt.date | None,
    source: str,
    by: User | None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Movement:
    """Receive `quantity` of `item` into `depot`, joining the lot with the same expiry."""
    if idempotency_key and (
        done := Movement.objects.filter(idempotency_key=idempotency_key).first()
    ):
        return done
    if quantity <= 0:
        raise Invalid(fields={"quantity": "1 以上を指定してください。"})
    if expires_on is not None and expires_on < timezone.localdate():
        raise Invalid(fields={"expires_on": "有効期限が過ぎています。"})
    lot, _ = Lot.objects.get_or_create(depot=depot, item=item, expires_on=expires_on, source=source)
    Lot.objects.filter(pk=lot.pk).update(on_hand=F("on_hand") + quantity)
    movement = Movement.objects.create(
        kind=Movement.Kind.RECEIVE,
        lot=lot,
        depot=depot,
        item=item,
        quantity=quantity,
        note=note,
        by=by,
        idempotency_key=idempotency_key,
    )
    audit.record(by, "stock.receive", movement, after=audit.snapshot(movement))
    publish(
        "stock.moved",
        {
            "movement_id": movement.pk,
            "kind": movement.kind,
            "depot_id": depot.pk,
            "shelter_id": depot.shelter_id,
            "item_id": item.pk,
            "quantity": quantity,
        },
    )
    return movement
