"""Map data: GeoJSON layers with a bbox and filters, and Mapbox vector tiles of damage
reports, so the operations map stays fast with 100,000 reports.

The GeoJSON is assembled by PostgreSQL (json_agg over the filtered rows) and passed through
as text: serialising ten thousand features row by row in Python costs more than the query.
Tiles are one ST_AsMVT query over the GiST index.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router
from pydantic import BaseModel, Field

from disaster.auth import SIGNED_IN, STAFF
from disaster.errors import Invalid
from disaster.models import DamageReport
from disaster.reports_api import filtered_reports, refuse_unknown_filters
from disaster.schemas import Moment
from maps.models import District

router = Router(tags=["map data"])

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
MAX_FEATURES = 50_000
TILE_EXTENT = 4096


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


@router.get("/map/reports.geojson", auth=SIGNED_IN, response={200: None})
def reports_geojson(
    request: HttpRequest,
    category: list[DamageReport.Category] | None = Query(None),
    severity_min: int | None = Query(None, ge=1, le=5),
    status: list[DamageReport.Status] | None = Query(None),
    since: Moment | None = None,
    until: Moment | None = None,
    bbox: str | None = Query(None, max_length=200, description="西,南,東,北"),
    limit: int = Query(10_000, ge=1, le=MAX_FEATURES),
):
    """Damage reports as GeoJSON points, newest first (no reporter contact)."""
    found = filtered_reports(
        request,
        category=category,
        severity_min=severity_min,
        status=status,
        since=since,
        until=until,
        bbox=bbox,
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
def districts_geojson(request: HttpRequest):
    """The districts alerts are targeted by (public: names and areas only)."""
    refuse_unknown_filters(request, set())
    sql, params = District.objects.values("id", "name", "name_en", "area").query.sql_with_params()
    properties = "'name', f.name, 'name_en', f.name_en"
    return _feature_collection(sql, list(params), properties, "f.area")


class Tile(BaseModel):
    z: int = Field(..., ge=0, le=22)
    x: int = Field(..., ge=0)
    y: int = Field(..., ge=0)


def tile_sql(where: str = "") -> str:
    """The one query behind a report tile: rows in the tile's envelope, clipped to it.

    The rows are picked in a CTE of their own (MATERIALIZED): planned together with the
    costly ST_AsMVTGeom, PostgreSQL preferred a parallel scan of the whole table to the
    GiST index, ten times slower.
    """
    table = DamageReport._meta.db_table
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


@router.get(
    "/map/tiles/reports/{z}/{x}/{y}.pbf", auth=STAFF, response={200: None}, tags=["map data"]
)
def report_tile(request: HttpRequest, tile: Path[Tile]):
    """A Mapbox vector tile (layer `reports`) of the open damage reports."""
    refuse_unknown_filters(request, set())
    if tile.x >= 2**tile.z or tile.y >= 2**tile.z:
        raise Invalid(fields={"x": _("このズームにはないタイルです。")})
    with connection.cursor() as cursor:
        cursor.execute(
            tile_sql("AND r.status = ANY(%s)"),
            [tile.z, tile.x, tile.y, list(DamageReport.OPEN_STATUSES)],
        )
        body = bytes(cursor.fetchone()[0] or b"")
    response = HttpResponse(body, content_type=MVT)
    response["Cache-Control"] = "private, max-age=10"
    return response
