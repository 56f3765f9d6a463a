"""What people do to shelters: correct their data, change their status, count who is there.

Correcting master data and changing status are different actions on purpose: fixing a typo
in an address must never look like (or announce) an opening or a closing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disaster.core import audit
from disaster.core.errors import Invalid
from disaster.core.events import publish
from disaster.core.models import User
from shelters.models import HeadCount, Shelter

# What `correct_shelter` may change: everything but status (and who changed it) and ids.
CORRECTABLE = frozenset(
    {
        "name",
        "kana",
        "name_en",
        "address",
        "point",
        "is_shelter",
        "is_evacuation_site",
        "hazards",
        "accessible_toilet",
        "generator",
        "welfare_space",
        "pets_allowed",
        "phone",
        "email",
        "capacity",
        "capacity_day",
        "target_people",
        "notes",
    }
)


@transaction.atomic
def correct_shelter(shelter_id: int, *, by: User | None, **changes: Any) -> Shelter:
    """Correct a shelter's master data. Status is not master data (see `change_status`)."""
    unknown = set(changes) - CORRECTABLE
    if unknown:
        raise Invalid(fields={name: _("この項目は修正できません。") for name in sorted(unknown)})
    shelter = Shelter.objects.select_for_update().get(pk=shelter_id)
    before = audit.snapshot(shelter)
    changed = []
    for name, value in changes.items():
        if isinstance(value, Point):
            value.srid = value.srid or 4326
            same = getattr(shelter, name).equals_exact(value, 1e-9)
        else:
            same = getattr(shelter, name) == value
        if not same:
            setattr(shelter, name, value)
            changed.append(name)
    if not changed:
        return shelter
    shelter.full_clean(exclude=["status_changed_by", "managers"])
    shelter.save(update_fields=changed)
    audit.record(by, "shelter.correct", shelter, before=before, after=audit.snapshot(shelter))
    publish("shelter.corrected", {"shelter_id": shelter.pk, "fields": sorted(changed)})
    return shelter


@transaction.atomic
def change_status(shelter_id: int, *, status: str, by: User | None, note: str = "") -> Shelter:
    """Open, fill, close… a shelter; records when and by whom, and announces it."""
    if status not in Shelter.Status.values:
        raise Invalid(fields={"status": _("開設状況が正しくありません。")})
    shelter = Shelter.objects.select_for_update().get(pk=shelter_id)
    previous = shelter.status
    if status == previous:
        return shelter
    before = audit.snapshot(shelter)
    shelter.status = status
    shelter.status_changed_at = timezone.now()
    shelter.status_changed_by = by
    shelter.save(update_fields=["status", "status_changed_at", "status_changed_by"])
    audit.record(by, "shelter.status", shelter, before=before, after=audit.snapshot(shelter))
    publish(
        "shelter.status_changed",
        {
            "shelter_id": shelter.pk,
            "name": shelter.name,
            "status": status,
            "previous": previous,
            "at": shelter.status_changed_at,
            "note": note,
        },
    )
    return shelter


def percent_of_capacity(total: int, capacity: int) -> float | None:
    return round(100 * total / capacity, 1) if capacity else None


@transaction.atomic
def record_headcount(
    shelter_id: int, *, total: int, by: User | None, note: str = "", **needs: int
) -> HeadCount:
    """Record how many people are at the shelter now, and how many of them need what."""
    errors = {}
    if not 0 <= total <= HeadCount.MAX_PEOPLE:
        errors["total"] = _("0 から %(max)s の間で入力してください。") % {
            "max": HeadCount.MAX_PEOPLE
        }
    for name, value in needs.items():
        if name not in (*HeadCount.NEEDS, "pets"):
            errors[name] = _("この項目はありません。")
        elif not 0 <= value <= HeadCount.MAX_PEOPLE:
            errors[name] = _("0 から %(max)s の間で入力してください。") % {
                "max": HeadCount.MAX_PEOPLE
            }
        elif name != "pets" and value > total:
            errors[name] = _("避難者数（%(total)s）を超えています。") % {"total": total}
    if errors:
        raise Invalid(fields=errors)
    shelter = Shelter.objects.get(pk=shelter_id)
    count = HeadCount.objects.create(shelter=shelter, total=total, note=note, by=by, **needs)
    publish(
        "shelter.headcount",
        {
            "shelter_id": shelter.pk,
            "headcount_id": count.pk,
            "total": total,
            "capacity": shelter.capacity,
            "percent_of_capacity": percent_of_capacity(total, shelter.capacity),
            "at": count.at,
        },
    )
    return count
