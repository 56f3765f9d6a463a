"""What is in force for the city: the state of each stream, recomputed from all its telegrams.

A stream (a prefecture's warnings of one format, one 土砂災害警戒情報, one river forecast, one
earthquake) is in the state its latest telegram describes, where "latest" is JMA's order
(report time, serial, sending time), not the order of arrival, and a 取消 withdraws the
telegram before it (for an earthquake, the whole event). Because the state is a function of
the set of telegrams, a replay or a telegram that arrives late changes nothing, and a
cancellation undoes exactly what it cancels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from disaster.warnings import parsing
from disaster.warnings.models import CityWarning, Telegram
from disaster.warnings.schema import validated


@dataclass(frozen=True)
class City:
    """Which areas are the city's, in each of JMA's code lists (see settings.JMA_*)."""

    name: str
    area_codes: tuple[str, ...]
    quake_regions: tuple[str, ...]
    regions: tuple[str, ...]
    rivers: tuple[str, ...]

    def has_area(self, code: str) -> bool:
        """The municipality's code, or one of its parts (土砂災害警戒情報 splits big cities:
        相模原市西部 1415011 is part of 1415000)."""
        return any(
            code == own or (len(code) == 7 and code[:5] == own[:5]) for own in self.area_codes
        )


def city() -> City:
    return City(
        name=settings.CITY_NAME,
        area_codes=tuple(settings.JMA_AREA_CODES),
        quake_regions=tuple(settings.JMA_QUAKE_REGION_CODES),
        regions=tuple(settings.JMA_REGION_CODES),
        rivers=tuple(settings.JMA_RIVERS),
    )


@dataclass
class Row:
    """A CityWarning to be: one item of the stream's latest telegram for the city."""

    area_code: str
    area_name: str
    name: str
    code: str = ""
    status: str = ""
    level: int | None = None
    level_words: str = ""
    intensity: str = ""
    hazards: tuple[str, ...] = ()
    condition: str = ""
    next_kinds: tuple[dict, ...] = ()
    text: str = ""


def _row(item: parsing.AreaKind, text: str = "") -> Row:
    return Row(
        area_code=item.area_code,
        area_name=item.area_name,
        name=item.name,
        code=item.code,
        status=item.status,
        level=item.level,
        level_words=item.level_words,
        hazards=tuple(item.hazards),
        condition=item.condition,
        next_kinds=tuple(
            {"name": n.name, "at": n.at, "sentence": n.sentence} for n in item.next_kinds
        ),
        text=item.text or text,
    )


def city_rows(telegram: parsing.Telegram, own: City) -> list[Row]:
    """What `telegram` says is in force for the city (empty when it says nothing of it)."""
    family = telegram.family
    if family in {parsing.WEATHER, parsing.LANDSLIDE}:
        return [_row(i) for i in telegram.items if own.has_area(i.area_code) and i.in_force]
    if family == parsing.RIVER:
        named = any(river in own.rivers for river in telegram.rivers)
        reaches = [i for i in telegram.items if own.has_area(i.area_code)]
        if not (named or reaches):
            return []
        shown = reaches[:1] or telegram.items[:1]
        return [_row(i, telegram.headline) for i in shown if i.in_force]
    if family == parsing.RECORD_RAIN:
        named = f"{own.name}付近" in telegram.headline
        hits = [i for i in telegram.items if i.in_force and (i.area_code in own.regions or named)]
        return [_row(i, telegram.headline) for i in hits[:1]]
    if family == parsing.QUAKE and telegram.quake is not None:
        return _quake_rows(telegram.quake, own)
    return []


def _quake_rows(quake: parsing.Quake, own: City) -> list[Row]:
    """The city's own intensity when JMA reports it per municipality (震源・震度情報), else
    its region's (震度速報 reports regions only)."""
    about = " ".join(part for part in (quake.place, quake.magnitude) if part)
    rows = [
        Row(
            area_code=code,
            area_name=quake.names.get(code, code),
            name=parsing.INTENSITY_WORDS.get(value, value),
            intensity=value,
            hazards=(parsing.EARTHQUAKE,),
            text=about,
        )
        for code, value in quake.cities.items()
        if own.has_area(code)
    ]
    if rows:
        return rows
    return [
        Row(
            area_code=code,
            area_name=quake.names.get(code, code),
            name=parsing.INTENSITY_WORDS.get(value, value),
            intensity=value,
            hazards=(parsing.EARTHQUAKE,),
            text=about,
        )
        for code, value in quake.regions.items()
        if code in own.quake_regions
    ]


def concerns(telegram: parsing.Telegram, own: City) -> bool:
    """Whether the telegram names the city at all (in force or lifted), so a lifting
    telegram reaches the timeline too."""
    if telegram.family in {parsing.WEATHER, parsing.LANDSLIDE}:
        return any(own.has_area(i.area_code) for i in telegram.items)
    if telegram.family == parsing.QUAKE and telegram.quake is not None:
        quake = telegram.quake
        return any(own.has_area(c) for c in quake.cities) or any(
            r in own.quake_regions for r in quake.regions
        )
    if telegram.family == parsing.RIVER:
        return any(r in own.rivers for r in telegram.rivers) or any(
            own.has_area(i.area_code) for i in telegram.items
        )
    if telegram.family == parsing.RECORD_RAIN:
        return f"{own.name}付近" in telegram.headline or any(
            i.area_code in own.regions for i in telegram.items
        )
    return False


def current(stream: str) -> tuple[Telegram | None, list[Telegram]]:
    """The telegram that decides the stream's state (None: nothing, or all withdrawn), and
    the telegrams withdrawn by a 取消."""
    stack: list[Telegram] = []
    withdrawn: list[Telegram] = []
    # Only what ordering needs: a busy stream holds hundreds of large telegrams.
    telegrams = Telegram.objects.applicable().filter(stream=stream)
    needed = ("info_type", "family", "order_key", "report_at", "received_at", "cancelled_by")
    for telegram in telegrams.only(*needed).order_by("order_key", "id"):
        if telegram.info_type != "取消":
            stack.append(telegram)
            continue
        cancelled = stack if telegram.family == parsing.QUAKE else stack[-1:]
        for gone in cancelled:
            gone.cancelled_by = telegram
        withdrawn.extend(cancelled)
        del stack[len(stack) - len(cancelled) :]
    return (stack[-1] if stack else None), withdrawn


def recompute(stream: str, parsed: dict[int, parsing.Telegram]) -> list[CityWarning]:
    """Rewrite the stream's CityWarning rows from its deciding telegram; rows that stay keep
    the time they were first in force (`since`). `parsed` holds telegrams already read
    (by id); others are read again from their raw XML."""
    # One stream is recomputed by one transaction at a time (the poller ingests several
    # telegrams at once): the next waits here, then sees the telegram the first committed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jma-stream:{stream}"])
    deciding, withdrawn = current(stream)
    for telegram in withdrawn:
        Telegram.objects.filter(pk=telegram.pk).update(cancelled_by=telegram.cancelled_by)
    own = city()
    rows: list[Row] = []
    if deciding is not None:
        read = parsed.get(deciding.pk) or parsing.parse(validated(bytes(deciding.raw)))
        rows = city_rows(read, own)
    now = timezone.now()
    existing = {(w.area_code, w.name): w for w in CityWarning.objects.filter(stream=stream)}
    keep: list[CityWarning] = []
    for row in rows:
        found = existing.pop((row.area_code, row.name), None)
        warning = found or CityWarning(stream=stream, area_code=row.area_code, name=row.name)
        if found is None:
            warning.since = deciding.report_at or now  # type: ignore[union-attr]
        assert deciding is not None
        warning.telegram = deciding
        warning.family = deciding.family
        for name in ("area_name", "code", "status", "level", "level_words", "intensity"):
            setattr(warning, name, getattr(row, name))
        warning.hazards = list(row.hazards)
        warning.condition, warning.text = row.condition, row.text
        warning.next_kinds = list(row.next_kinds)
        warning.updated_at = now
        reports = deciding.family in {parsing.QUAKE, parsing.RECORD_RAIN}
        shown = dt.timedelta(hours=settings.JMA_REPORT_SHOWN_HOURS)
        warning.expires_at = (deciding.received_at + shown) if reports else None
        warning.save()
        keep.append(warning)
    CityWarning.objects.filter(pk__in=[w.pk for w in existing.values()]).delete()
    return keep
