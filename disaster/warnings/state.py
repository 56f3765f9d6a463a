"""What is in force for the city: the state of each stream, recomputed from all its telegrams.

A stream (a prefecture's warnings of one format, one 土砂災害警戒情報, one river forecast, one
earthquake) is in the state its latest telegram describes, where "latest" is JMA's order
(report time, serial, sending time), not the order of arrival, and a 取消 withdraws the
telegram before it (for an earthquake, the whole event). Because the state is a function of
the set of telegrams, a replay or a telegram that arrives late changes nothing, and a
cancellation undoes exactly what it cancels. The telegram just stored decides its stream by
itself when it comes last and cancels nothing, as JMA's telegrams mostly do: the stream is
ordered again only for the others (tests/disaster/test_jma_state.py checks both agree).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q
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


def lock(stream: str) -> None:
    """Hold the stream until the transaction ends. One stream is recomputed by one
    transaction at a time (the poller ingests several telegrams at once): the next waits
    here, then sees the telegram the first committed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jma-stream:{stream}"])


def locked_rows(stream: str) -> list[CityWarning]:
    """The stream's CityWarning rows, read once the stream is locked (see `lock`)."""
    lock(stream)
    return list(CityWarning.objects.filter(stream=stream).order_by())


def current(stream: str) -> tuple[Telegram | None, dict[int, int | None]]:
    """The telegram that decides the stream's state (None: nothing, or all withdrawn), and
    each telegram whose withdrawal is not yet recorded: its id → the 取消 that withdraws it
    (None: no longer withdrawn, a late telegram having changed what a 取消 cancels)."""
    stack: list[Telegram] = []
    cancelled_by: dict[int, int] = {}
    # Only what ordering needs: a busy stream holds hundreds of large telegrams.
    needed = ("info_type", "family", "order_key", "report_at", "received_at", "cancelled_by")
    telegrams = list(
        Telegram.objects.applicable()
        .filter(stream=stream)
        .only(*needed)
        .order_by("order_key", "id")
    )
    for telegram in telegrams:
        if telegram.info_type != "取消":
            stack.append(telegram)
            continue
        cancelled = stack if telegram.family == parsing.QUAKE else stack[-1:]
        for gone in cancelled:
            cancelled_by[gone.pk] = telegram.pk
        del stack[len(stack) - len(cancelled) :]
    changed = {
        t.pk: cancelled_by.get(t.pk)
        for t in telegrams
        if t.cancelled_by_id != cancelled_by.get(t.pk)
    }
    return (stack[-1] if stack else None), changed


def _is_last(telegram: Telegram) -> bool:
    """No other telegram of its stream comes after it in JMA's order."""
    key = telegram.order_key
    later = Q(order_key__gt=key) | Q(order_key=key, pk__gt=telegram.pk)
    return not Telegram.objects.applicable().filter(later, stream=telegram.stream).exists()


@dataclass
class Recomputed:
    warnings: list[CityWarning]  # the stream's rows now
    cancelled_by: dict[int, int | None]  # telegrams withdrawn, or no longer, by this recompute


def recompute(
    stream: str,
    newest: tuple[Telegram, parsing.Telegram] | None = None,
    existing: list[CityWarning] | None = None,
) -> Recomputed:
    """Rewrite the stream's CityWarning rows from its deciding telegram; rows that stay keep
    the time they were first in force (`since`). `newest` is the telegram just stored, with
    what it says: when it comes last in its stream and cancels nothing (JMA's telegrams
    mostly arrive in order), it decides the stream and the others are not read; otherwise
    the whole stream is ordered again, and the deciding telegram, unless it is `newest`, is
    read again from its raw XML. `existing`: the stream's rows from `locked_rows`."""
    if existing is None:
        existing = locked_rows(stream)
    changes: dict[int, int | None] = {}
    deciding: Telegram | None
    read: parsing.Telegram | None
    if newest is not None and newest[0].info_type != "取消" and _is_last(newest[0]):
        deciding, read = newest
    else:
        deciding, changes = current(stream)
        for value in set(changes.values()):
            ids = [pk for pk, by in changes.items() if by == value]
            Telegram.objects.filter(pk__in=ids).update(cancelled_by=value)
        read = None
        if deciding is not None:
            read = newest[1] if newest and newest[0].pk == deciding.pk else None
            read = read or parsing.parse(validated(bytes(deciding.raw)))
    rows = city_rows(read, city()) if read is not None else []
    now = timezone.now()
    by_key = {(w.area_code, w.name): w for w in existing}
    keep: list[CityWarning] = []
    for row in rows:
        assert deciding is not None
        found = by_key.pop((row.area_code, row.name), None)
        warning = found or CityWarning(stream=stream, area_code=row.area_code, name=row.name)
        if found is None:
            warning.since = deciding.report_at or now
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
    if by_key:
        CityWarning.objects.filter(pk__in=[w.pk for w in by_key.values()]).delete()
    return Recomputed(keep, changes)
