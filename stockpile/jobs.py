"""Periodic stock checks: shortages and expiring lots, announced to the operations room."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from procrastinate.contrib.django import app

from disaster.core.events import EVENT_KINDS, publish
from disaster.core.models import Event
from stockpile import coverage


def _publish_if_changed(kind: str, payload: dict) -> bool:
    """Publish unless the last event of this kind said the same: a list that has not changed
    since the last check is not news, and the room's screens already show it."""
    data = EVENT_KINDS[kind].model_validate(payload).model_dump(mode="json")
    last = Event.objects.filter(kind=kind).order_by("-id").values_list("payload", flat=True).first()
    if last == data:
        return False
    publish(kind, data)
    return True


@app.periodic(cron="*/15 * * * *")
@app.task(queue="stock", queueing_lock="check_stock")
def check_stock(timestamp: int | None = None) -> dict[str, int | bool]:
    """Find shortages (fewer than STOCK_SHORTAGE_DAYS of supply, or too few units) and lots
    expiring within STOCK_USE_FIRST_DAYS; publish each list when it has changed."""
    threshold = coverage.shortage_days()
    shortages = [
        {
            "depot_id": level.depot.pk,
            "shelter_id": level.depot.shelter_id,
            "item_id": level.item.pk,
            "on_hand": level.on_hand,
            "days_of_supply": level.days_of_supply,
            "hours_until_empty": level.hours_until_empty,
            "required_units": level.required_units,
        }
        for level in coverage.shortages(threshold)
    ]
    expiring = [
        {
            "lot_id": entry.lot.pk,
            "depot_id": entry.lot.depot_id,
            "item_id": entry.lot.item_id,
            "expires_on": entry.expires_on.isoformat(),
            "on_hand": entry.lot.on_hand,
        }
        for entry in coverage.expiring(settings.STOCK_USE_FIRST_DAYS)
    ]
    with transaction.atomic():
        shortages_changed = _publish_if_changed(
            "stock.shortages", {"threshold_days": threshold, "shortages": shortages}
        )
    with transaction.atomic():
        expiring_changed = _publish_if_changed(
            "stock.expiring", {"within_days": settings.STOCK_USE_FIRST_DAYS, "lots": expiring}
        )
    return {
        "shortages": len(shortages),
        "expiring": len(expiring),
        "shortages_published": shortages_changed,
        "expiring_published": expiring_changed,
    }
