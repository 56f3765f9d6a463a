"""The shelters' status as open data, now or as it was at any past time.

What 七尾市 put out by hand every few hours after the 2024 Noto earthquake: the 推奨データセット
指定緊急避難場所 columns of every shelter, then

- 開設状況: its status (閉鎖 / 開設準備 / 開設 / 満員・受入停止 / 他所へ避難中),
- 混雑: the band the public map shows (空き / 混雑 / 満員), for a shelter that is open,
- 人数 and 世帯数: only where the city publishes exact counts (PUBLISH_HEADCOUNTS, off by
  default, as in the public API: a head-count of a small shelter says who is there). 世帯数
  stays empty: head-counts record people, not households,
- 時点: the time the file describes (ISO 8601, Japan time).

The history is rebuilt from what is recorded with its time: every status change is in the
audit log, and every head-count keeps when it was recorded and when it was observed. The
file as of T is what could have been published at T: the status after the last change made
by T, the head-count observed last among those recorded by T. A shelter added after T is
left out; names, addresses and capacities are today's (master data has no history here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from disaster.core.models import AuditEntry
from shelters.models import CURRENT_FIRST, HeadCount, Shelter
from shelters.opendata.codes import city_code
from shelters.opendata.columns import RECOMMENDED_COLUMNS
from shelters.opendata.export import csv_bytes, recommended_row
from shelters.public import BAND_LABELS, occupancy_band

SHELTER_TYPE = Shelter._meta.label_lower
STATUS_ACTION = "shelter.status"
# Statuses in which people are (or may be) staying: the band and counts mean something.
RECEIVING = frozenset({Shelter.Status.OPEN, Shelter.Status.FULL})


def feed_columns() -> tuple[str, ...]:
    """The file's header: 推奨データセット, then the status columns."""
    counts = ("人数", "世帯数") if settings.PUBLISH_HEADCOUNTS else ()
    return (*RECOMMENDED_COLUMNS, "開設状況", "混雑", *counts, "時点")


@dataclass
class ShelterState:
    status: str
    occupancy: int | None  # the current head-count's total, None when there is none
    households: int | None = None  # its households, None when not counted


def _states(shelters: list[Shelter], at: dt.datetime | None) -> dict[int, ShelterState]:
    """Each shelter's status and head-count now (at=None) or as recorded by `at`."""
    ids = [s.pk for s in shelters]
    counts = HeadCount.objects.filter(shelter_id__in=ids)
    if at is not None:
        counts = counts.filter(at__lte=at, observed_at__lte=at)
    latest = {
        shelter_id: (total, households)
        for shelter_id, total, households in counts.order_by("shelter_id", *CURRENT_FIRST)
        .distinct("shelter_id")
        .values_list("shelter_id", "total", "households")
    }
    status = {s.pk: s.status for s in shelters}
    if at is not None:
        changes = AuditEntry.objects.filter(
            target_type=SHELTER_TYPE, action=STATUS_ACTION, target_id__in=[str(i) for i in ids]
        )
        # The status after the last change made by then; for a shelter changed only later,
        # the status before its first change.
        for target_id, after in (
            changes.filter(at__lte=at)
            .order_by("target_id", "-at", "-id")
            .distinct("target_id")
            .values_list("target_id", "after")
        ):
            status[int(target_id)] = (after or {}).get("status", status[int(target_id)])
        decided = {int(t) for t in changes.filter(at__lte=at).values_list("target_id", flat=True)}
        for target_id, before in (
            changes.filter(at__gt=at)
            .order_by("target_id", "at", "id")
            .distinct("target_id")
            .values_list("target_id", "before")
        ):
            if int(target_id) not in decided:
                status[int(target_id)] = (before or {}).get("status", status[int(target_id)])
    return {pk: ShelterState(status[pk], *latest.get(pk, (None, None))) for pk in ids}


def _shelters(at: dt.datetime | None) -> list[Shelter]:
    shelters = Shelter.objects.order_by("name", "pk")
    if at is not None:
        # Added after then: its first audit entry (the import or form that made it) is later.
        made_later = AuditEntry.objects.filter(
            target_type=SHELTER_TYPE, before__isnull=True, at__gt=at
        ).values_list("target_id", flat=True)
        shelters = shelters.exclude(pk__in=[int(i) for i in made_later if i.isdigit()])
    return list(shelters)


def feed_rows(at: dt.datetime | None = None) -> list[tuple[Shelter, dict[str, str]]]:
    """Every shelter with its row of the status file (column → text), now or as of `at`."""
    moment = timezone.localtime(at or timezone.now()).replace(microsecond=0)
    shelters = _shelters(at)
    states = _states(shelters, at)
    code = city_code()
    rows = []
    for shelter in shelters:
        state = states[shelter.pk]
        receiving = state.status in RECEIVING
        occupancy = state.occupancy if receiving else None
        households = state.households if receiving else None
        band = occupancy_band(state.status, occupancy or 0, shelter.capacity)
        row = recommended_row(shelter, code=code) | {
            "開設状況": str(Shelter.Status(state.status).label),
            "混雑": str(BAND_LABELS[band]) if receiving else "",
            "時点": moment.isoformat(),
        }
        if settings.PUBLISH_HEADCOUNTS:
            row |= {
                "人数": "" if occupancy is None else str(occupancy),
                "世帯数": "" if households is None else str(households),
            }
        rows.append((shelter, row))
    return rows


def feed_csv(at: dt.datetime | None = None) -> bytes:
    """The status file as CSV, written as the 推奨データセット export is."""
    return csv_bytes(feed_columns(), (row for _shelter, row in feed_rows(at)))


def feed_geojson(at: dt.datetime | None = None) -> dict[str, Any]:
    """The same rows as a GeoJSON FeatureCollection, properties in the same order."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.point.x, s.point.y]},
                "properties": {column: row[column] for column in feed_columns()},
            }
            for s, row in feed_rows(at)
        ],
    }


def feed_filename(extension: str, at: dt.datetime | None = None) -> str:
    """<団体コード>_evacuation_space_status[_<YYYYmmddHHMM>].<ext>"""
    stamp = f"_{timezone.localtime(at):%Y%m%d%H%M}" if at else ""
    return f"{city_code()}_evacuation_space_status{stamp}.{extension}"
