"""Report tiles of a whole city (zoom 13 and below) draw one dot per pixel, the most severe
of the reports there; closer in, every report is its own feature."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point

from disaster.reports.models import DamageReport
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
