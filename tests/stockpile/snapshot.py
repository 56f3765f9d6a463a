"""Everything a shelters or stockpile write could change, in one comparable value: the
tests that a write changes nothing (a replay, a refusal) compare it before and after."""

from __future__ import annotations

from django.db.models import Sum

from disaster.core.models import AuditEntry, Event
from shelters.models import HeadCount, Shelter
from stockpile.models import Lot, Movement, SupplyRequest, Transfer


def state() -> dict:
    return {
        "movements": Movement.objects.count(),
        "on_hand": Lot.objects.aggregate(s=Sum("on_hand"))["s"],
        "headcounts": HeadCount.objects.count(),
        "transfers": sorted(Transfer.objects.values_list("pk", "status")),
        "requests": sorted(SupplyRequest.objects.values_list("pk", "status")),
        "shelters": sorted(Shelter.objects.values_list("pk", "status", "phone")),
        "events": Event.objects.count(),
        "audit": AuditEntry.objects.count(),
    }
