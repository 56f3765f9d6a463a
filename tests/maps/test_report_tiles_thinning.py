"""Report tiles of a whole city (zoom 13 and below) draw one dot per pixel, the most severe
of the reports there; closer in, every report is its own feature."""

from __future__ import annotations

import random

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from disaster.reports.models import DamageReport
from maps.api import PIXEL, TILE_EXTENT
from tests.maps.test_map_data import tile_of

pytestmark = pytest.mark.django_db


def report(lon: float, lat: float, severity: int) -> DamageReport:
    return DamageReport.objects.create(
        point=Point(lon, lat, srid=4326), category="road", severity=severity
    )


def features(client, z: int, lon: float, lat: float) -> list[dict]:
    x, y = tile_of(lon, lat, z)
    body = client.get(f"/api/v1/map/tiles/reports/{z}/{x}/{y}.pbf").content
    return mapbox_vector_tile.decode(body)["reports"]["features"] if body else []


def test_reports_on_one_pixel_of_the_city_view_are_one_dot_the_most_severe(api_as, ops_user):
    mild = report(139.41000, 35.49000, severity=2)
    severe = report(139.41001, 35.49001, severity=5)  # about a metre away
    apart = report(139.43, 35.50, severity=1)
    client = api_as(ops_user)

    city = features(client, 12, 139.41, 35.49)

    assert sorted(f["id"] for f in city) == sorted([severe.pk, apart.pk])
    assert {f["id"]: f["properties"]["severity"] for f in city}[severe.pk] == 5
    close = features(client, 16, 139.41, 35.49)
    assert sorted(f["id"] for f in close) == sorted([mild.pk, severe.pk])


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_the_pixel_found_by_arithmetic_is_the_one_postgis_snaps_to(api_as, ops_user, seed):
    """2,000 reports over one city tile: the dots kept are exactly those a reference query
    keeps, one per 4-px cell of the tile as PostGIS projects and snaps it (ST_AsMVTGeom,
    ST_SnapToGrid), the most severe, then the newest."""
    rng = random.Random(seed)
    DamageReport.objects.bulk_create(
        DamageReport(
            point=Point(139.40 + rng.random() * 0.02, 35.48 + rng.random() * 0.02, srid=4326),
            category="road",
            severity=rng.randint(1, 5),
        )
        for _ in range(2000)
    )
    z, (x, y) = 12, tile_of(139.41, 35.49, 12)

    shown = features(api_as(ops_user), z, 139.41, 35.49)

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH placed AS (
                SELECT ST_AsMVTGeom(ST_Transform(point, 3857), ST_TileEnvelope(%s, %s, %s),
                                    {TILE_EXTENT}, 64, true) AS geom, id, severity
                FROM disaster_damagereport
                WHERE point && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)
            )
            SELECT DISTINCT ON (ST_SnapToGrid(geom, {PIXEL})) id FROM placed
            WHERE geom IS NOT NULL
            ORDER BY ST_SnapToGrid(geom, {PIXEL}), severity DESC, id DESC
            """,  # noqa: S608 (constants)
            [z, x, y, z, x, y],
        )
        reference = sorted(row[0] for row in cursor.fetchall())
    assert 100 < len(reference) < 2000  # thinned, and not to nothing
    assert sorted(f["id"] for f in shown) == reference


def test_closer_in_reports_on_one_pixel_are_each_their_own_feature(api_as, ops_user):
    # Ten centimetres apart: one pixel at any zoom, yet each is drawn closer in.
    close = [report(139.41 + i * 0.000001, 35.49, severity=1 + i) for i in range(3)]

    shown = features(api_as(ops_user), 16, 139.41, 35.49)

    assert sorted(f["id"] for f in shown) == sorted(r.pk for r in close)
