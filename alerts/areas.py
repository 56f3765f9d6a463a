"""An alert's whole target area, and the shelters in or near it that suit its hazard:
what drafting suggests, the fan-out names in each message and the public alert page shows.

For hazards that make the area itself the danger (water and land: flood, inland flooding,
storm surge, tsunami, landslide), shelters *inside* the area are left out: people are
leaving it. For an earthquake, fire or volcano the shelters inside stay.
"""

from __future__ import annotations

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import GEOSGeometry
from django.contrib.gis.measure import D

from alerts.models import Alert
from disaster.core.geography import CityBoundary, District
from shelters.models import Hazard, Shelter, ShelterQuerySet

UNSAFE_INSIDE = {
    Hazard.FLOOD,
    Hazard.INLAND_FLOODING,
    Hazard.STORM_SURGE,
    Hazard.TSUNAMI,
    Hazard.LANDSLIDE,
}
NEARBY_METRES = 3000


def target_area(alert: Alert) -> GEOSGeometry | None:
    """The alert's whole target as one geometry (districts ∪ drawn area, or the city)."""
    if alert.whole_city:
        boundary = CityBoundary.objects.first()
        return boundary.area if boundary else None
    parts = [d.area for d in alert.districts.all()]
    if alert.area is not None:
        parts.append(alert.area)
    if not parts:
        return None
    union: GEOSGeometry = parts[0]
    for part in parts[1:]:
        union = union.union(part)
    return union


def in_or_near(alert: Alert, area: GEOSGeometry | None, shelters: ShelterQuerySet):
    """Those of `shelters` serving the alert's hazard in or near its area (annotated with
    `distance` to it, nearest first), without the ones inside when the hazard makes the
    area itself the danger. With no area (a whole city without a boundary), all of them."""
    if alert.hazard:
        shelters = shelters.serving(alert.hazard)
    if area is None:
        return shelters.order_by("name", "pk")
    # A coarse index-backed cut in degrees, then the true distance in metres.
    shelters = (
        shelters.filter(point__dwithin=(area, NEARBY_METRES / 90_000))
        .annotate(distance=Distance("point", area))
        .filter(distance__lte=D(m=NEARBY_METRES))
    )
    if alert.hazard in UNSAFE_INSIDE and not alert.whole_city:
        shelters = shelters.exclude(point__intersects=area)
    return shelters.order_by("distance", "pk")


# Kinds whose messages name the nearest open shelter: at level 5 (緊急安全確保) the danger is
# already there and moving may be worse than staying up high, so no shelter is proposed.
CARRY_SHELTER = {Alert.Kind.EVACUATION_3, Alert.Kind.EVACUATION_4}


def nearest_by_district(alert: Alert, district_ids: list[int]) -> dict[str, dict[str, str]]:
    """For each district, the nearest shelter accepting people now (open) that serves the
    alert's hazard and is not inside its area when the hazard makes the area unsafe: one
    index-backed KNN query per district (from a point inside it), none per recipient."""
    if alert.kind not in CARRY_SHELTER or not district_ids:
        return {}
    area = target_area(alert)
    shelters = Shelter.objects.open_to_public(alert.hazard or None).accepting()
    if area is not None and alert.hazard in UNSAFE_INSIDE and not alert.whole_city:
        shelters = shelters.exclude(point__intersects=area)
    chosen = {}
    for district in District.objects.filter(pk__in=district_ids).only("pk", "area"):
        shelter = shelters.nearest(district.area.point_on_surface).first()
        if shelter is not None:
            chosen[str(district.pk)] = {"name": shelter.name, "name_en": shelter.name_en}
    return chosen
