"""Areas drawn by people (an alert's target, a map filter): one meaning of "an area"."""

from __future__ import annotations

import json
from typing import overload

from django.conf import settings
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.db import connection
from django.utils.translation import gettext as _

from disaster.core.errors import Invalid
from disaster.core.geography import CityBoundary


@overload
def area_from_geojson(geojson: dict) -> MultiPolygon: ...
@overload
def area_from_geojson(geojson: None) -> None: ...
@overload
def area_from_geojson(geojson: dict | None) -> MultiPolygon | None: ...
def area_from_geojson(geojson: dict | None) -> MultiPolygon | None:
    """A GeoJSON (multi)polygon as a valid MultiPolygon in EPSG:4326, or a 422 saying why."""
    if geojson is None:
        return None
    try:
        geometry = GEOSGeometry(json.dumps(geojson), srid=4326)
    except (ValueError, TypeError, GEOSException, GDALException) as error:
        raise Invalid(
            _("区域が GeoJSON の多角形として読めません。"),
            fields={"area": _("GeoJSON の Polygon か MultiPolygon にしてください。")},
        ) from error
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon(geometry, srid=4326)
    if not isinstance(geometry, MultiPolygon):
        raise Invalid(fields={"area": _("Polygon か MultiPolygon にしてください。")})
    if not geometry.valid:
        raise Invalid(
            _("区域の多角形が正しくありません: %(reason)s") % {"reason": geometry.valid_reason},
            fields={"area": geometry.valid_reason},
        )
    boundary = CityBoundary.objects.first()
    if boundary is not None and not boundary.area.intersects(geometry):
        raise Invalid(fields={"area": _("区域が市の範囲外です。")})
    return geometry


def city_outline() -> GEOSGeometry:
    """The municipality's boundary, or its configured box (CITY_BBOX) when none is loaded."""
    boundary = CityBoundary.objects.filter(code=settings.CITY_CODE).first()
    if boundary is None:
        boundary = CityBoundary.objects.first()
    if boundary is not None:
        return boundary.area
    west, south, east, north = settings.CITY_BBOX
    return Polygon.from_bbox((west, south, east, north))


def lies_in_city(area: GEOSGeometry, buffer_metres: float) -> bool:
    """Whether `area` lies within the city, or no further than `buffer_metres` outside it
    (measured on the ground: PostGIS buffers a geography in metres)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Covers(ST_Buffer(ST_GeomFromEWKB(%s)::geography, %s)::geometry, "
            "ST_GeomFromEWKB(%s))",
            [bytes(city_outline().ewkb), buffer_metres, bytes(area.ewkb)],
        )
        return bool(cursor.fetchone()[0])


def alert_area_from_geojson(geojson: dict | None) -> MultiPolygon | None:
    """An alert's drawn area: `area_from_geojson`, and within the city — a line drawn a
    little past the boundary is allowed (ALERT_AREA_BUFFER_M), a county or the globe is a
    422. (Map filters stay lenient: an area there only has to touch the city.)"""
    area = area_from_geojson(geojson)
    if area is not None and not lies_in_city(area, settings.ALERT_AREA_BUFFER_M):
        message = _("区域が%(city)sの外にはみ出しています（境界の外 %(metres)s m まで）。") % {
            "city": settings.CITY_NAME,
            "metres": settings.ALERT_AREA_BUFFER_M,
        }
        raise Invalid(message, fields={"area": message})
    return area
