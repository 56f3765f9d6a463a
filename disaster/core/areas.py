"""Areas drawn by people (an alert's target, a map filter): one meaning of "an area"."""

from __future__ import annotations

import json

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.utils.translation import gettext as _

from disaster.core.errors import Invalid
from disaster.core.geography import CityBoundary


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
