"""Map data: GeoJSON layers with a bbox and filters, and Mapbox vector tiles of damage
reports, so the operations map stays fast with 100,000 reports.

The GeoJSON is assembled by PostgreSQL (json_agg over the filtered rows) and passed through
as text: serialising ten thousand features row by row in Python costs more than the query.
Tiles are one ST_AsMVT query over the GiST index.
"""

import datetime as dt

from django.contrib.gis.geos import Point
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from pydantic import BaseModel, Field

from alerts.authoring.schemas import AlertKind
from disaster.core.auth import STAFF
from disaster.core.errors import Invalid, NotFound
from disaster.core.filters import parse_area, parse_bbox, refuse_unknown_filters
from disaster.core.geography import District
from disaster.reports.api import ReportFilters, filtered_reports
from disaster.reports.models import DamageReport
from maps import ops, queries
from shelters.models import Hazard
from shelters.schemas import Latitude, Longitude, ShelterStatus

router = Router(tags=["map data"])

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
MAX_FEATURES = 50_000
TILE_EXTENT = 4096
BBOX = Query(None, max_length=200, description="minLon,minLat,maxLon,maxLat（西,南,東,北）")


def _feature_collection(sql: str, params: list, properties: str, geometry: str) -> HttpResponse:
    """Wrap a SELECT as a GeoJSON FeatureCollection built in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', coalesce(json_agg(json_build_object(
                    'type', 'Feature', 'id', f.id,
                    'geometry', ST_AsGeoJSON({geometry}, 6)::json,
                    'properties', json_build_object({properties})
                )), '[]'::json)
            )::text
            FROM ({sql}) AS f
            """,  # noqa: S608 (our own SQL and column names)
            params,
        )
        return HttpResponse(cursor.fetchone()[0], content_type=GEOJSON)


def _geojson(text: str) -> HttpResponse:
    return HttpResponse(text, content_type=GEOJSON)


@router.get("/map/reports.geojson", auth=STAFF, response={200: None})
def reports_geojson(
    request: HttpRequest,
    filters: Query[ReportFilters],
    bbox: str | None = BBOX,
    area: str | None = Query(
        None, max_length=100_000, description="GeoJSON の Polygon か MultiPolygon（その中の報告）"
    ),
    limit: int = Query(10_000, ge=1, le=MAX_FEATURES),
):
    """Damage reports as GeoJSON points, newest first (no reporter contact, no description;
    operations staff only). The FeatureCollection is built by PostgreSQL."""
    found = filtered_reports(
        request,
        filters,
        bbox=bbox,
        extra={"area", "limit"},
        area=parse_area(area) if area else None,
    )
    rows = found.order_by("-created_at", "-id").values(
        "id", "point", "category", "severity", "status", "reporters", "created_at"
    )[:limit]
    sql, params = rows.query.sql_with_params()
    properties = (
        "'category', f.category, 'severity', f.severity, 'status', f.status, "
        "'reporters', f.reporters, 'created_at', f.created_at"
    )
    return _feature_collection(sql, list(params), properties, "f.point")


@router.get("/map/districts.geojson", auth=None, response={200: None}, tags=["public"])
def districts_geojson(request: HttpRequest, bbox: str | None = BBOX):
    """The districts alerts are targeted by (public: names, areas and their census
    population and households, as published by e-Stat)."""
    refuse_unknown_filters(request, {"bbox"})
    districts = District.objects.all()
    if bbox:
        districts = districts.filter(area__intersects=queries.bbox_polygon(parse_bbox(bbox)))
    columns = ("id", "name", "name_en", "area", "population", "households")
    sql, params = districts.values(*columns).query.sql_with_params()
    properties = (
        "'name', f.name, 'name_en', f.name_en, 'population', f.population, "
        "'households', f.households"
    )
    return _feature_collection(sql, list(params), properties, "f.area")


@router.get("/map/shelters.geojson", auth=STAFF, response={200: None})
def shelters_geojson(
    request: HttpRequest,
    status: list[ShelterStatus] | None = Query(None),
    hazard: Hazard | None = None,
    occupancy_min: float | None = Query(None, ge=0, le=10_000, description="収容率（%）以上"),
    occupancy_max: float | None = Query(None, ge=0, le=10_000, description="収容率（%）以下"),
    worst_days_max: float | None = Query(
        None, ge=0, le=10_000, description="最も早く尽きる品目の残り日数がこれ以下"
    ),
    short: bool | None = Query(None, description="不足している品目がある（true）／ない（false）"),
    bbox: str | None = BBOX,
):
    """Shelters for the operations map: status, occupancy and its %, the band residents
    see, and the worst shortage (the item with the fewest days of supply, how many items
    are short). Operations staff only."""
    refuse_unknown_filters(
        request,
        {"status", "hazard", "occupancy_min", "occupancy_max", "worst_days_max", "short", "bbox"},
    )
    rows = queries.shelter_layer(
        queries.ShelterLayerFilter(
            statuses=status,
            hazard=hazard,
            bbox=parse_bbox(bbox) if bbox else None,
            occupancy_min=occupancy_min,
            occupancy_max=occupancy_max,
            worst_days_max=worst_days_max,
            short=short,
        )
    )
    return _geojson(queries.feature_collection(rows, "point"))


@router.get("/map/alerts.geojson", auth=STAFF, response={200: None})
def alerts_geojson(
    request: HttpRequest,
    kind: list[AlertKind] | None = Query(None),
    drill: bool | None = None,
    hazard: Hazard | None = None,
    bbox: str | None = BBOX,
):
    """Alert areas in force (approved or sent, within their validity): each alert's whole
    target (drawn area and districts, or the city) as one geometry. Operations staff only."""
    refuse_unknown_filters(request, {"kind", "drill", "hazard", "bbox"})
    rows = queries.alert_layer(
        kinds=kind, drill=drill, hazard=hazard, bbox=parse_bbox(bbox) if bbox else None
    )
    return _geojson(queries.feature_collection(rows, "geometry"))


@router.get("/map/public/shelters.geojson", auth=None, response={200: None}, tags=["public"])
def public_shelters_geojson(
    request: HttpRequest, hazard: Hazard | None = None, bbox: str | None = BBOX
):
    """Open shelters for residents: where, the hazards each serves and an occupancy band
    (free 空き / crowded 混雑 from MAP_CROWDED_PERCENT % / full 満員), never a head-count."""
    refuse_unknown_filters(request, {"hazard", "bbox"})
    shelters = queries.open_shelters(hazard, parse_bbox(bbox) if bbox else None)
    rows = [
        {**queries.public_shelter(s), "point": s.point} for s in shelters.order_by("name", "pk")
    ]
    for row in rows:
        del row["latitude"], row["longitude"]  # the geometry says where
    return _geojson(queries.feature_collection(rows, "point"))


class NearestOut(Schema):
    id: int
    name: str
    name_en: str
    address: str
    hazards: list[str]
    status: str
    band: str = Field(description="free（空き）/ crowded（混雑）/ full（満員）")
    band_label: str
    latitude: float
    longitude: float
    distance_m: float


@router.get("/map/public/nearest", auth=None, response=list[NearestOut], tags=["public"])
def nearest_shelters(
    request: HttpRequest,
    lat: Latitude,
    lon: Longitude,
    hazard: Hazard | None = None,
    limit: int = Query(5, ge=1, le=50),
):
    """The open shelters nearest to a point (the visitor's location), for the hazard chosen,
    nearest first with the distance in metres: a KNN scan of the GiST index (`<->`), then
    the true distance. Only shelters accepting people (status open)."""
    refuse_unknown_filters(request, {"lat", "lon", "hazard", "limit"})
    here = Point(lon, lat, srid=4326)
    shelters = queries.open_shelters(hazard).accepting().nearest(here)[:limit]
    return [{**queries.public_shelter(s), "distance_m": round(s.distance.m, 1)} for s in shelters]


class AlertAreaOut(Schema):
    id: int
    title: str = Field(
        description="見出し：職員がこの言語で書いた件名、なければ定型文（警戒レベルと種類）"
    )
    kind_label: str = Field(description="種類（職員の件名のときだけ。定型文の見出しは含む）")
    action: str = Field(description="とるべき行動（定型文の2行目）")
    level: int | None
    drill: bool
    in_force: bool = Field(description="有効期間内か")
    area: dict | None = Field(description="対象区域（GeoJSON geometry）")
    shelters: list[NearestOut] = Field(
        description="区域内・周辺の開設中の避難所（災害の種類に対応、近い順）"
    )


@router.get(
    "/map/public/alerts/{alert_id}",
    auth=None,
    response=AlertAreaOut,
    tags=["public"],
)
def public_alert_area(request: HttpRequest, alert_id: int):
    """An alert that went out, as the SMS short link (/a/<id>) shows it on the public map:
    its title, its area and the open shelters in or near it for its hazard. Nothing about
    its recipients."""
    found = queries.public_alert(alert_id)
    if found is None:
        raise NotFound(_("この情報は見つかりません。"))
    return found


class ReportFigures(Schema):
    open_by_severity: dict[str, int] = Field(description='未解決の報告数（深刻度 "1"〜"5" 別）')
    per_hour: list[tuple[dt.datetime, int]] = Field(
        description="直近の各時間（UTC の正時から）に受け付けた報告数、古い順"
    )


@router.get("/map/ops/report-figures", auth=STAFF, response=ReportFigures)
def report_figures(request: HttpRequest):
    """The operations map's report figures over every report, not only those the page has
    loaded: unresolved reports by severity and reports per hour of the chart's window. The
    page asks again after report events. Operations staff only."""
    refuse_unknown_filters(request, set())
    return ops.report_figures()


class Tile(BaseModel):
    z: int = Field(..., ge=0, le=22)
    x: int = Field(..., ge=0)
    y: int = Field(..., ge=0)


# At this tile zoom and below (a city on one screen), reports closer than a dot's radius
# (4 px; the smallest dot is 8 px across) are drawn as one dot, the most severe: they would
# cover each other anyway, and the tile of 100,000 reports shrinks to what can be seen.
# Every report is still counted beside the map.
THIN_AT_OR_BELOW_ZOOM = 13
PIXEL = 4 * TILE_EXTENT // 512  # 4 px of a 512 px tile, in the tile's units


# Spherical Mercator (EPSG:3857), by arithmetic: x = R·λ, y = R·ln tan(π/4 + φ/2).
EARTH_RADIUS_M = 6378137
ID_BITS = (1 << 40) - 1


def tile_sql(where: str = "", *, thin: bool = False) -> str:
    """The one query behind a report tile: rows in the tile's envelope, clipped to it
    (with `thin`, one row per pixel, the most severe).

    The rows are picked in a CTE of their own (MATERIALIZED): planned together with the
    costly ST_AsMVTGeom, PostgreSQL preferred a parallel scan of the whole table to the
    GiST index, ten times slower. Thinned, each row's pixel is found by arithmetic, as
    ST_AsMVTGeom and ST_SnapToGrid would find it (tile units rounded, then the 4-px cell,
    both with rint as PostgreSQL's round does), and only the row kept per pixel is
    projected and encoded: a city view of 100,000 reports encodes thousands, not all.
    """
    table = DamageReport._meta.db_table
    if thin:
        return f"""
        WITH bounds AS (
            SELECT env, ST_XMin(env) AS x0, ST_YMax(env) AS y1,
                   ST_XMax(env) - ST_XMin(env) AS size
            FROM (SELECT ST_TileEnvelope(%s, %s, %s) AS env) tile
        ),
        kept AS MATERIALIZED (
            -- Per pixel, the most severe report, the newest of those: the largest
            -- severity·2⁴⁰ + id (ids stay below 2⁴⁰), found by hashing, not sorting.
            SELECT max((r.severity::bigint << 40) | r.id) & {ID_BITS} AS id
            FROM {table} r, bounds
            WHERE r.point && ST_Transform(bounds.env, 4326) {where}
            GROUP BY
                round(round(({EARTH_RADIUS_M} * radians(ST_X(r.point)) - bounds.x0)
                            * {TILE_EXTENT} / bounds.size) / {PIXEL}),
                round(round((bounds.y1 - {EARTH_RADIUS_M}
                             * ln(tan(pi() / 4 + radians(ST_Y(r.point)) / 2)))
                            * {TILE_EXTENT} / bounds.size) / {PIXEL})
        ),
        mvt AS (
            SELECT ST_AsMVTGeom(ST_Transform(r.point, 3857), bounds.env, {TILE_EXTENT}, 64, true)
                       AS geom,
                   r.id, r.id AS report_id, r.category, r.severity, r.status, r.reporters
            FROM kept JOIN {table} r ON r.id = kept.id, bounds
        )
        SELECT ST_AsMVT(mvt, 'reports', {TILE_EXTENT}, 'geom', 'id') FROM mvt
        WHERE geom IS NOT NULL
        """  # noqa: S608 (our own SQL)
    return f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%s, %s, %s) AS env),
        picked AS MATERIALIZED (
            SELECT r.point, r.id, r.category, r.severity, r.status, r.reporters
            FROM {table} r, bounds
            WHERE r.point && ST_Transform(bounds.env, 4326) {where}
        ),
        mvt AS (
            SELECT ST_AsMVTGeom(ST_Transform(p.point, 3857), bounds.env, {TILE_EXTENT}, 64, true)
                       AS geom,
                   p.id, p.id AS report_id, p.category, p.severity, p.status, p.reporters
            FROM picked p, bounds
        )
        SELECT ST_AsMVT(mvt, 'reports', {TILE_EXTENT}, 'geom', 'id') FROM mvt
    """  # noqa: S608 (our own SQL)


def tile_where(filters: ReportFilters | None = None) -> tuple[str, list]:
    """The tile query's filters (the report list's, as SQL on the `r` alias), with their
    parameters. Without a status, the open reports: resolved ones leave the map."""
    filters = filters or ReportFilters()
    clauses = ["r.status = ANY(%s)"]
    params: list = [list(filters.status or DamageReport.OPEN_STATUSES)]
    for clause, value in (
        ("r.category = ANY(%s)", filters.category or None),
        ("r.severity = ANY(%s)", filters.severity or None),
        ("r.severity >= %s", filters.severity_min),
        ("r.created_at >= %s", filters.since),
        ("r.created_at < %s", filters.until),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return "".join(f" AND {clause}" for clause in clauses), params


@router.get(
    "/map/tiles/reports/{z}/{x}/{y}.pbf", auth=STAFF, response={200: None}, tags=["map data"]
)
def report_tile(request: HttpRequest, tile: Path[Tile], filters: Query[ReportFilters]):
    """A Mapbox vector tile (layer `reports`; properties report_id, category, severity,
    status, reporters) of the damage reports the filters select, open ones by default.
    One ST_AsMVT query. Operations staff only."""
    refuse_unknown_filters(request, filters.names())
    if tile.x >= 2**tile.z or tile.y >= 2**tile.z:
        raise Invalid(fields={"x": _("このズームにはないタイルです。")})
    where, params = tile_where(filters)
    with connection.cursor() as cursor:
        sql = tile_sql(where, thin=tile.z <= THIN_AT_OR_BELOW_ZOOM)
        cursor.execute(sql, [tile.z, tile.x, tile.y, *params])
        body = bytes(cursor.fetchone()[0] or b"")
    response = HttpResponse(body, content_type=MVT)
    response["Cache-Control"] = "private, max-age=10"
    return response
