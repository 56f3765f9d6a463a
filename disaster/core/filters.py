"""Query-string filters every list and map endpoint shares: unknown names refused, a bbox,
an area as GeoJSON; each a 422 that says what is wrong."""

from __future__ import annotations

import json

from django.contrib.gis.geos import MultiPolygon
from django.http import HttpRequest
from django.utils.translation import gettext as _

from disaster.core.areas import area_from_geojson
from disaster.core.errors import Invalid

Bbox = tuple[float, float, float, float]


def refuse_unknown_filters(request: HttpRequest, known: set[str]) -> None:
    """A filter we do not know is a 422 naming it: silently ignoring a misspelt filter
    would show the operations room the wrong map."""
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise Invalid(
            _("不明な絞り込み条件: %(names)s") % {"names": ", ".join(unknown)},
            fields={name: _("この条件はありません。") for name in unknown},
        )


def parse_bbox(text: str) -> Bbox:
    """`west,south,east,north` in degrees (minLon,minLat,maxLon,maxLat), or a 422."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as error:
        raise Invalid(
            _("bbox は 西,南,東,北（経度,緯度,経度,緯度）の4つの数です。"),
            fields={"bbox": _("bbox は 西,南,東,北 の4つの数です。")},
        ) from error
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise Invalid(
            _("bbox の範囲が正しくありません（西<東、南<北、経度 ±180、緯度 ±90）。"),
            fields={"bbox": _("bbox の範囲が正しくありません。")},
        )
    return west, south, east, north


def parse_area(text: str) -> MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon (as sent in a query string), or a 422 saying why.
    The rules are the alert areas' (`disaster.core.areas`)."""

    try:
        geojson = json.loads(text)
    except ValueError as error:
        raise Invalid(
            _("区域が GeoJSON として読めません。"),
            fields={"area": _("GeoJSON の Polygon か MultiPolygon にしてください。")},
        ) from error
    if not isinstance(geojson, dict):
        raise Invalid(fields={"area": _("GeoJSON の Polygon か MultiPolygon にしてください。")})
    return area_from_geojson(geojson)
