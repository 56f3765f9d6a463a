"""What people do to shelters: correct their data, change their status, count who is there.

Correcting master data and changing status are different actions on purpose: fixing a typo
in an address must never look like (or announce) an opening or a closing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disaster.core import audit
from disaster.core.errors import Invalid
from disaster.core.events import publish
from disaster.core.models import User
from shelters.models import CURRENT_FIRST, FIGURES, WITHIN_TOTAL, HeadCount, Shelter

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


# A shelter in these has nobody staying: moving out of them opens it.
NOT_OPEN = frozenset({Shelter.Status.CLOSED, Shelter.Status.PREPARING})


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
    changed = ["status", "status_changed_at", "status_changed_by"]
    if previous in NOT_OPEN and status not in NOT_OPEN:
        shelter.opened_at = shelter.status_changed_at
        changed.append("opened_at")
    shelter.save(update_fields=changed)
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


def _shown(moment: dt.datetime) -> str:
    """A time as the manager reads it (Tokyo), or in UTC at the very ends of the calendar."""
    try:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    except OverflowError:
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def _observed_at_errors(shelter: Shelter, observed_at: dt.datetime) -> str | None:
    """Why a count cannot have been observed then, if it cannot."""
    now = timezone.now()
    skew = dt.timedelta(seconds=settings.HEADCOUNT_CLOCK_SKEW_S)
    oldest = now - dt.timedelta(days=settings.HEADCOUNT_MAX_AGE_DAYS)
    when = {"time": _shown(observed_at)}
    if observed_at > now + skew:
        return _("観測日時（%(time)s）が未来です。端末の時計を確かめてください。") % when
    if shelter.opened_at and observed_at < shelter.opened_at - skew:
        return _("観測日時（%(time)s）が開設（%(opened)s）より前です。") % {
            **when,
            "opened": _shown(shelter.opened_at),
        }
    if observed_at < oldest:
        return _("観測日時（%(time)s）が古すぎます（%(days)s 日以内）。") % {
            **when,
            "days": settings.HEADCOUNT_MAX_AGE_DAYS,
        }
    return None


def is_current(count: HeadCount) -> bool:
    """Is this the shelter's current count (the one observed last)?"""
    latest = HeadCount.objects.filter(shelter_id=count.shelter_id).order_by(*CURRENT_FIRST)
    return latest.values_list("pk", flat=True).first() == count.pk


@transaction.atomic
def record_headcount(
    shelter_id: int,
    *,
    total: int,
    by: User | None,
    note: str = "",
    observed_at: dt.datetime | None = None,
    households: int | None = None,
    **figures: int | None,
) -> HeadCount:
    """Record how many people were at the shelter at `observed_at` (now if not given), how
    many of them need what, and how many more it feeds who sleep elsewhere.

    A figure not given (or None) keeps its value in the count observed last before this one
    (0 if there is none): updating only the total, the usual case, never erases the needs.
    A kept value that no longer fits (more elderly than people) is refused, not dropped.
    `households` (世帯数) is kept the same way, and stays unknown (None) until counted."""
    shelter = Shelter.objects.select_for_update().get(pk=shelter_id)
    observed_at = observed_at or timezone.now()
    errors = {}
    if reason := _observed_at_errors(shelter, observed_at):
        errors["observed_at"] = reason
    if not 0 <= total <= HeadCount.MAX_PEOPLE:
        errors["total"] = _("0 から %(max)s の間で入力してください。") % {
            "max": HeadCount.MAX_PEOPLE
        }
    unknown = set(figures) - set(FIGURES)
    for name in sorted(unknown):
        errors[name] = _("この項目はありません。")
    before = (
        HeadCount.objects.filter(shelter=shelter, observed_at__lte=observed_at)
        .order_by(*CURRENT_FIRST)
        .first()
    )
    values = {}
    for name in FIGURES:
        given = figures.get(name)
        value = given if given is not None else (getattr(before, name) if before else 0)
        values[name] = value
        if not 0 <= value <= HeadCount.MAX_PEOPLE:
            errors[name] = _("0 から %(max)s の間で入力してください。") % {
                "max": HeadCount.MAX_PEOPLE
            }
        elif name in WITHIN_TOTAL and value > total and "total" not in errors:
            errors[name] = (
                _("避難者数（%(total)s）を超えています。") % {"total": total}
                if given is not None
                else _(
                    "前回の値（%(value)s）が避難者数（%(total)s）を超えています。"
                    "入力し直してください。"
                )
                % {"value": value, "total": total}
            )
    kept_households = households is None and before is not None
    if households is None and before is not None:
        households = before.households
    if households is not None and not 0 <= households <= total and "total" not in errors:
        # Worded as for the needs: a kept value is the previous count's, to be re-entered.
        errors["households"] = (
            _("前回の値（%(value)s）が避難者数（%(total)s）を超えています。入力し直してください。")
            % {"value": households, "total": total}
            if kept_households
            else _("避難者数（%(total)s）を超えています。") % {"total": total}
        )
    if errors:
        raise Invalid(fields=errors)
    values["households"] = households
    count = HeadCount.objects.create(
        shelter=shelter, total=total, note=note, by=by, observed_at=observed_at, **values
    )
    # The count is itself history (never edited); the log says who recorded what, where.
    audit.record(
        by, "headcount.record", count, after={"shelter_id": shelter.pk, "total": total, **values}
    )
    publish(
        "shelter.headcount",
        {
            "shelter_id": shelter.pk,
            "headcount_id": count.pk,
            "total": total,
            "capacity": shelter.capacity,
            "percent_of_capacity": percent_of_capacity(total, shelter.capacity),
            "at": count.at,
            "observed_at": observed_at,
            "is_current": is_current(count),
            "supported_elsewhere": count.supported_elsewhere,
        },
    )
    return count
