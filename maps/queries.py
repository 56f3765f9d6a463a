"""What the map layers show, computed once for the API and anyone else who needs it:
shelters with occupancy and their worst shortage, the public occupancy band, alert areas in
force, and the parsing of the bbox and area filters every layer shares.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language

from alerts.areas import in_or_near, target_area
from alerts.delivery.messages import headline
from alerts.models import Alert
from disaster.core import languages
from disaster.core.filters import Bbox
from shelters.models import Shelter
from shelters.public import occupancy_band, public_shelter
from shelters.services import percent_of_capacity
from stockpile import coverage


def bbox_polygon(bbox: Bbox) -> Polygon:
    return Polygon.from_bbox(bbox)


def open_shelters(hazard: str | None = None, bbox: Bbox | None = None):
    """Shelters residents may be sent to now, with occupancy, inside the bbox if given."""
    shelters = Shelter.objects.open_to_public(hazard)
    if bbox is not None:
        shelters = shelters.filter(point__intersects=bbox_polygon(bbox))
    return shelters


@dataclass
class StockState:
    """A shelter's worst stock figure: the item that runs out first."""

    worst_days: float | None = None
    worst_item: str | None = None
    shortages: int = 0


def stock_states() -> dict[int, StockState]:
    """Per shelter: the fewest days of supply of any item and how many items are short
    (`stockpile.coverage`, the same figures as the stock screens)."""
    states: dict[int, StockState] = {}
    for level in coverage.levels():
        if level.depot.shelter_id is None:
            continue  # a central warehouse: no shelter on the map
        state = states.setdefault(level.depot.shelter_id, StockState())
        if level.status == coverage.Status.SHORT:
            state.shortages += 1
        days = level.days_of_supply
        if days is not None and (state.worst_days is None or days < state.worst_days):
            state.worst_days, state.worst_item = days, level.item.name
    return states


@dataclass
class ShelterLayerFilter:
    statuses: Sequence[str] | None = None
    hazard: str | None = None
    bbox: Bbox | None = None
    occupancy_min: float | None = None
    occupancy_max: float | None = None
    worst_days_max: float | None = None
    short: bool | None = None


def shelter_layer(wanted: ShelterLayerFilter) -> list[dict[str, Any]]:
    """Shelters for the operations map: status, occupancy %, band and worst shortage."""
    shelters = Shelter.objects.filter(is_shelter=True)
    if wanted.statuses:
        shelters = shelters.filter(status__in=wanted.statuses)
    if wanted.hazard:
        shelters = shelters.serving(wanted.hazard)
    if wanted.bbox is not None:
        shelters = shelters.filter(point__intersects=bbox_polygon(wanted.bbox))
    states = stock_states()
    rows = []
    for shelter in shelters.with_occupancy().order_by("name", "pk"):
        percent = percent_of_capacity(shelter.occupancy, shelter.capacity)
        stock = states.get(shelter.pk, StockState())
        if wanted.occupancy_min is not None and (percent or 0) < wanted.occupancy_min:
            continue
        if wanted.occupancy_max is not None and (percent or 0) > wanted.occupancy_max:
            continue
        if wanted.worst_days_max is not None and (
            stock.worst_days is None or stock.worst_days > wanted.worst_days_max
        ):
            continue
        if wanted.short is not None and (stock.shortages > 0) != wanted.short:
            continue
        band = occupancy_band(shelter.status, shelter.occupancy, shelter.capacity)
        rows.append(
            {
                "id": shelter.pk,
                "point": shelter.point,
                "name": shelter.name,
                "name_en": shelter.name_en,
                "status": shelter.status,
                "status_label": str(shelter.get_status_display()),
                "hazards": list(shelter.hazards),
                "capacity": shelter.capacity,
                "occupancy": shelter.occupancy,
                "occupancy_percent": percent,
                "band": band,
                "worst_days": stock.worst_days,
                "worst_item": stock.worst_item,
                "shortages": stock.shortages,
            }
        )
    return rows


ALERT_SHOWN = (Alert.Status.APPROVED, Alert.Status.SENDING, Alert.Status.SENT)


def alerts_in_force(now: dt.datetime | None = None):
    """Alerts approved or sent whose validity (`valid_minutes` from when they went out) has
    not run out, annotated with `ends_at`."""
    now = now or timezone.now()
    minute = Value(dt.timedelta(minutes=1), output_field=DurationField())
    return (
        Alert.objects.filter(status__in=ALERT_SHOWN)
        .annotate(
            ends_at=ExpressionWrapper(
                Coalesce("sent_at", "approved_at", "created_at")
                + ExpressionWrapper(F("valid_minutes") * minute, output_field=DurationField()),
                output_field=DateTimeField(),
            )
        )
        .filter(ends_at__gte=now)
        .prefetch_related("districts")
        .order_by("-ends_at", "-pk")
    )


def alert_layer(
    *, kinds: Sequence[str] | None, drill: bool | None, hazard: str | None, bbox: Bbox | None
) -> list[dict[str, Any]]:
    """Alert areas in force, each as one geometry (`alerts.areas.target_area`: its drawn
    area and districts, or the whole city)."""
    alerts = alerts_in_force()
    if kinds:
        alerts = alerts.filter(kind__in=kinds)
    if drill is not None:
        alerts = alerts.filter(is_drill=drill)
    if hazard:
        alerts = alerts.filter(hazard=hazard)
    window = bbox_polygon(bbox) if bbox is not None else None
    language = get_language() or settings.LANGUAGE_CODE
    rows = []
    for alert in alerts:
        area = target_area(alert)
        if area is None or (window is not None and not window.intersects(area)):
            continue
        rows.append(
            {
                "id": alert.pk,
                "geometry": area,
                "kind": alert.kind,
                "kind_label": str(alert.get_kind_display()),
                "title": alert.title(language),
                "status": alert.status,
                "drill": alert.is_drill,
                "hazard": alert.hazard,
                "level": alert.level,
                "whole_city": alert.whole_city,
                "district_ids": sorted(d.pk for d in alert.districts.all()),
                "ends_at": alert.ends_at.isoformat(),
            }
        )
    return rows


def feature_collection(rows: list[dict[str, Any]], geometry: str) -> str:
    """Rows (each with `id` and a GEOS geometry under `geometry`) as GeoJSON text."""
    features = []
    for row in rows:
        properties = {k: v for k, v in row.items() if k not in ("id", geometry)}
        features.append(
            {
                "type": "Feature",
                "id": row["id"],
                "geometry": json.loads(row[geometry].json),
                "properties": properties,
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


ALERT_AREA_SHELTERS = 20


def public_alert(alert_id: int) -> dict[str, Any] | None:
    """An alert as its SMS short link shows it to anyone: title, level and area, and the
    open shelters in or near the area for its hazard, nearest first (none inside the area
    when the hazard makes it unsafe: alerts.areas.in_or_near). Only alerts that went out;
    nothing about who received them."""
    alert = Alert.objects.filter(pk=alert_id, status__in=Alert.PUBLIC_STATUSES).first()
    if alert is None:
        return None
    area = target_area(alert)
    shelters = in_or_near(alert, area, open_shelters())[:ALERT_AREA_SHELTERS]
    language = languages.resident_language(get_language())
    what, action = headline(alert, language)
    typed = alert.typed_in(language)
    return {
        "id": alert.pk,
        # The staff's title where they wrote one in this language, else the template's.
        "title": alert.title(language) if typed else what,
        "kind_label": str(alert.get_kind_display()) if typed else "",
        "action": action,
        "level": alert.level,
        "drill": alert.is_drill,
        "in_force": alerts_in_force().filter(pk=alert.pk).exists(),
        "area": json.loads(area.json) if area is not None else None,
        "shelters": [
            {
                **public_shelter(s),
                "distance_m": round(s.distance.m, 1) if area is not None else 0.0,
            }
            for s in shelters
        ],
    }
