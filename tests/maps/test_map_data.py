"""Map data: report GeoJSON with bbox and filters, public districts, and vector tiles that
decode to the reports inside them."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client

from disaster.core.geography import District
from disaster.reports.models import DamageReport

pytestmark = pytest.mark.django_db


def report(lon: float, lat: float, **extra) -> DamageReport:
    fields = {"category": "fire", "severity": 3, "source": "staff", "reporter_contact": "秘密"}
    return DamageReport.objects.create(point=Point(lon, lat, srid=4326), **{**fields, **extra})


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_reports_come_as_geojson_points_inside_the_bbox_without_the_contact(api_as, ops_user):
    inside = report(139.41, 35.49, severity=5)
    report(139.30, 35.40)

    response = api_as(ops_user).get("/api/v1/map/reports.geojson?bbox=139.40,35.48,139.42,35.50")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["id"] == inside.pk
    assert feature["geometry"] == {"type": "Point", "coordinates": [139.41, 35.49]}
    assert feature["properties"]["severity"] == 5
    assert "秘密" not in response.content.decode()


def test_report_geojson_filters_and_refuses_what_it_does_not_know(api_as, ops_user):
    report(139.41, 35.49, category="flooding")
    fire = report(139.41, 35.49)
    client = api_as(ops_user)

    fires = json.loads(client.get("/api/v1/map/reports.geojson?category=fire").content)

    assert [f["id"] for f in fires["features"]] == [fire.pk]
    assert client.get("/api/v1/map/reports.geojson?shape=star").status_code == 422
    assert client.get("/api/v1/map/reports.geojson?bbox=a,b,c,d").status_code == 422
    empty = json.loads(client.get("/api/v1/map/reports.geojson?status=resolved").content)
    assert empty == {"type": "FeatureCollection", "features": []}


def test_districts_are_public_geojson():
    square = Polygon.from_bbox((139.40, 35.48, 139.42, 35.50))
    District.objects.create(
        name="東地区",
        name_en="East",
        area=MultiPolygon(square, srid=4326),
        population=1_234,
        households=567,
    )

    collection = json.loads(Client().get("/api/v1/map/districts.geojson").content)

    [feature] = collection["features"]
    assert feature["properties"] == {
        "name": "東地区",
        "name_en": "East",
        "population": 1_234,
        "households": 567,
    }
    assert feature["geometry"]["type"] == "MultiPolygon"


def test_a_vector_tile_holds_the_open_reports_inside_it(api_as, ops_user):
    inside = report(139.4101, 35.4901, severity=4)
    report(139.4102, 35.4902, status="resolved")
    report(139.30, 35.40)
    x, y = tile_of(139.4101, 35.4901, 15)

    response = api_as(ops_user).get(f"/api/v1/map/tiles/reports/15/{x}/{y}.pbf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(response.content)["reports"]
    assert [f["id"] for f in layer["features"]] == [inside.pk]
    assert layer["features"][0]["properties"]["severity"] == 4
    assert layer["features"][0]["geometry"]["type"] == "Point"


def test_an_empty_tile_is_empty_and_a_tile_outside_its_zoom_is_refused(api_as, ops_user):
    client = api_as(ops_user)

    assert client.get("/api/v1/map/tiles/reports/3/0/0.pbf").content == b""
    assert client.get("/api/v1/map/tiles/reports/3/8/0.pbf").status_code == 422
    assert client.get("/api/v1/map/tiles/reports/23/0/0.pbf").status_code == 422


def test_shelter_managers_may_not_fetch_tiles(api_as, manager_user):
    assert api_as(manager_user).get("/api/v1/map/tiles/reports/3/0/0.pbf").status_code == 403


def test_a_vector_tile_takes_the_report_filters(api_as, ops_user):
    fire = report(139.4101, 35.4901, severity=4)
    report(139.4102, 35.4902, severity=2)
    flood = report(139.4103, 35.4903, category="flooding", severity=5)
    resolved = report(139.4104, 35.4904, status="resolved")
    x, y = tile_of(139.4101, 35.4901, 15)
    client = api_as(ops_user)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/map/tiles/reports/15/{x}/{y}.pbf?{query}")
        assert response.status_code == 200, response.content
        decoded = mapbox_vector_tile.decode(response.content)
        return {f["id"] for f in decoded.get("reports", {"features": []})["features"]}

    assert ids("category=fire&severity_min=3") == {fire.pk}
    assert ids("severity=5") == {flood.pk}
    assert ids("status=resolved") == {resolved.pk}
    assert ids("since=2099-01-01T00:00:00%2B09:00") == set()
    assert client.get(f"/api/v1/map/tiles/reports/15/{x}/{y}.pbf?zoom=1").status_code == 422


def test_the_tile_query_agrees_with_postgis_on_what_lies_in_the_tile(api_as, ops_user):
    from django.db import connection

    reports = [report(139.36 + i * 0.0007, 35.45 + i * 0.0005) for i in range(100)]
    x, y = tile_of(139.39, 35.47, 14)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM disaster_damagereport "
            "WHERE ST_Intersects(ST_Transform(point, 3857), ST_TileEnvelope(14, %s, %s))",
            [x, y],
        )
        expected = {row[0] for row in cursor.fetchall()}

    body = api_as(ops_user).get(f"/api/v1/map/tiles/reports/14/{x}/{y}.pbf").content

    assert 0 < len(expected) < len(reports)
    assert {f["id"] for f in mapbox_vector_tile.decode(body)["reports"]["features"]} == expected
