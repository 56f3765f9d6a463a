"""The map layers besides the reports: shelters for the operations room (occupancy % and
the worst shortage), alert areas in force, the public map's open shelters by band (never a
head-count), the nearest open shelters by KNN, and the area filter of the report layer."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client
from django.utils import timezone

from alerts.models import Alert
from disaster.core.geography import CityBoundary, District
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from shelters.services import record_headcount

pytestmark = pytest.mark.django_db


def features(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    return collection["features"]


def opened(shelter: Shelter, people: int = 0, status: str = Shelter.Status.OPEN) -> Shelter:
    Shelter.objects.filter(pk=shelter.pk).update(status=status)
    if people:
        record_headcount(shelter.pk, total=people, by=None)
    shelter.refresh_from_db()
    return shelter


# Shelters for the operations room


def test_shelters_carry_occupancy_percent_and_the_item_that_runs_out_first(
    api_as, ops_user, shelter, other_shelter, water, depot, stock_in
):
    opened(shelter, people=300)  # capacity 600
    stock_in(depot, water, 900)  # 900 L / (300 × 3 L) = 1 day
    opened(other_shelter, people=450)  # capacity 500: 90 %

    found = features(api_as(ops_user).get("/api/v1/map/shelters.geojson"))

    by_id = {f["id"]: f for f in found}
    sagamigaoka = by_id[shelter.pk]["properties"]
    assert sagamigaoka["occupancy"] == 300 and sagamigaoka["occupancy_percent"] == 50.0
    assert sagamigaoka["worst_days"] == 1.0 and sagamigaoka["worst_item"] == water.name_ja
    assert sagamigaoka["shortages"] == 1 and sagamigaoka["band"] == "free"
    assert by_id[other_shelter.pk]["properties"]["band"] == "crowded"
    assert by_id[shelter.pk]["geometry"] == {"type": "Point", "coordinates": [139.416, 35.512]}


def test_shelters_are_filtered_by_status_occupancy_shortage_and_bbox(
    api_as, ops_user, shelter, other_shelter, water, depot, stock_in
):
    opened(shelter, people=300)
    stock_in(depot, water, 900)
    opened(other_shelter, people=450, status=Shelter.Status.FULL)
    client = api_as(ops_user)

    def ids(query: str) -> list[int]:
        return [f["id"] for f in features(client.get(f"/api/v1/map/shelters.geojson?{query}"))]

    assert ids("status=full") == [other_shelter.pk]
    assert ids("occupancy_min=80") == [other_shelter.pk]
    assert ids("occupancy_max=60") == [shelter.pk]
    assert ids("short=true") == [shelter.pk]
    assert ids("short=false") == [other_shelter.pk]
    assert ids("worst_days_max=2") == [shelter.pk]
    assert ids("worst_days_max=0.5") == []
    assert ids("bbox=139.39,35.48,139.41,35.50") == [other_shelter.pk]
    assert ids("hazard=earthquake") == [shelter.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("bbox=139.5,35.5,139.4,35.6", "bbox"),
        ("bbox=139.4,35.5", "bbox"),
        ("status=burning", "status"),
        ("occupancy_min=-1", "occupancy_min"),
    ],
)
def test_a_bad_shelter_filter_is_a_422_naming_it(api_as, ops_user, query, field):
    response = api_as(ops_user).get(f"/api/v1/map/shelters.geojson?{query}")

    assert response.status_code == 422
    assert field in str(response.json()["errors"])


def test_shelter_managers_and_visitors_do_not_get_the_operations_layers(api_as, manager_user):
    for layer in ("shelters", "alerts", "reports"):
        assert api_as(manager_user).get(f"/api/v1/map/{layer}.geojson").status_code == 403
        assert Client().get(f"/api/v1/map/{layer}.geojson").status_code == 401


# Alert areas


def alert(**fields) -> Alert:
    values = {
        "kind": Alert.Kind.EVACUATION_4,
        "title_ja": "避難指示",
        "body_ja": "避難してください",
        "channels": ["sms"],
        "status": Alert.Status.SENT,
        "sent_at": timezone.now(),
        **fields,
    }
    districts = values.pop("districts", [])
    made = Alert.objects.create(**values)
    made.districts.set(districts)
    return made


SQUARE = Polygon.from_bbox((139.40, 35.48, 139.42, 35.50))


def test_alert_areas_in_force_come_with_their_whole_target(api_as, ops_user):
    drawn = alert(area=MultiPolygon(SQUARE, srid=4326), hazard="flood")
    north = District.objects.create(
        name="北地区", area=MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)))
    )
    by_district = alert(districts=[north], is_drill=True, kind=Alert.Kind.EVACUATION_3)
    alert(area=MultiPolygon(SQUARE, srid=4326), sent_at=timezone.now() - dt.timedelta(hours=2))
    alert(area=MultiPolygon(SQUARE, srid=4326), status=Alert.Status.DRAFT, sent_at=None)
    alert(area=MultiPolygon(SQUARE, srid=4326), status=Alert.Status.CANCELLED)

    found = features(api_as(ops_user).get("/api/v1/map/alerts.geojson"))

    by_id = {f["id"]: f for f in found}
    assert set(by_id) == {drawn.pk, by_district.pk}
    assert by_id[drawn.pk]["properties"]["level"] == 4
    assert by_id[drawn.pk]["properties"]["hazard"] == "flood"
    assert by_id[by_district.pk]["properties"]["district_ids"] == [north.pk]
    assert by_id[by_district.pk]["geometry"]["coordinates"][0][0][2] == [139.42, 35.52]


def test_alert_areas_are_filtered_by_kind_drill_and_bbox(api_as, ops_user):
    real = alert(area=MultiPolygon(SQUARE, srid=4326))
    drill = alert(
        area=MultiPolygon(Polygon.from_bbox((139.35, 35.45, 139.36, 35.46)), srid=4326),
        is_drill=True,
        kind=Alert.Kind.INFORMATION,
    )
    client = api_as(ops_user)

    def ids(query: str) -> list[int]:
        return [f["id"] for f in features(client.get(f"/api/v1/map/alerts.geojson?{query}"))]

    assert ids("drill=true") == [drill.pk]
    assert ids("kind=evacuation_4") == [real.pk]
    assert ids("bbox=139.41,35.49,139.43,35.51") == [real.pk]
    assert client.get("/api/v1/map/alerts.geojson?kind=meteor").status_code == 422


def test_a_whole_city_alert_covers_the_city_boundary(api_as, ops_user, settings):
    city = MultiPolygon(Polygon.from_bbox((139.36, 35.45, 139.44, 35.51)), srid=4326)
    CityBoundary.objects.create(code=settings.CITY_CODE, name="座間市", area=city)
    everyone = alert(whole_city=True)

    [feature] = features(api_as(ops_user).get("/api/v1/map/alerts.geojson"))

    assert feature["id"] == everyone.pk and feature["properties"]["whole_city"] is True
    assert feature["geometry"]["type"] == "MultiPolygon"


# The public map


def test_the_public_map_shows_open_shelters_by_band_and_never_a_head_count(
    shelter, other_shelter, settings
):
    settings.MAP_CROWDED_PERCENT = 80
    opened(shelter, people=479)  # 79.8 % of 600
    opened(other_shelter, people=400)  # 80 % of 500
    closed = Shelter.objects.create(
        name="閉鎖中の公民館", address="座間市", point=Point(139.41, 35.49, srid=4326)
    )
    record_headcount(closed.pk, total=10, by=None)

    response = Client().get("/api/v1/map/public/shelters.geojson")

    by_id = {f["id"]: f["properties"] for f in features(response)}
    assert set(by_id) == {shelter.pk, other_shelter.pk}
    assert by_id[shelter.pk]["band"] == "free" and by_id[shelter.pk]["band_label"] == "空き"
    assert by_id[other_shelter.pk]["band"] == "crowded"
    assert by_id[shelter.pk]["hazards"] == ["earthquake", "large_fire"]
    for properties in by_id.values():
        assert not {"occupancy", "occupancy_percent", "capacity", "phone"} & set(properties)
    assert "479" not in response.content.decode()


def test_a_shelter_that_says_full_or_reaches_capacity_is_full(shelter, other_shelter):
    opened(shelter, people=600)
    opened(other_shelter, status=Shelter.Status.FULL)

    found = features(Client().get("/api/v1/map/public/shelters.geojson"))

    assert {f["properties"]["band"] for f in found} == {"full"}


def test_the_public_map_is_in_english_when_asked(shelter):
    opened(shelter)

    response = Client().get("/api/v1/map/public/shelters.geojson", HTTP_ACCEPT_LANGUAGE="en")

    assert features(response)[0]["properties"]["band_label"] == "Space"


def test_the_public_map_filters_by_hazard_and_refuses_unknown_filters(shelter, other_shelter):
    opened(shelter)
    opened(other_shelter)

    found = features(Client().get("/api/v1/map/public/shelters.geojson?hazard=large_fire"))

    assert [f["id"] for f in found] == [shelter.pk]
    assert Client().get("/api/v1/map/public/shelters.geojson?people=1").status_code == 422
    assert Client().get("/api/v1/map/public/shelters.geojson?hazard=meteor").status_code == 422


def place(name: str, lon: float, lat: float, **extra) -> Shelter:
    values = {"address": "座間市", "status": Shelter.Status.OPEN, "hazards": ["flood"], **extra}
    return Shelter.objects.create(name=name, point=Point(lon, lat, srid=4326), **values)


def test_the_nearest_open_shelters_come_nearest_first_with_their_distance():
    here = (35.4900, 139.4000)
    far = place("遠い", 139.4300, 35.4900)  # ~2.7 km east
    near = place("近い", 139.4000, 35.4930)  # ~330 m north
    middle = place("中間", 139.4120, 35.4900)  # ~1.1 km east
    place("閉鎖", 139.4001, 35.4901, status=Shelter.Status.CLOSED)
    place("満員", 139.4002, 35.4901, status=Shelter.Status.FULL)

    response = Client().get(f"/api/v1/map/public/nearest?lat={here[0]}&lon={here[1]}")

    assert response.status_code == 200, response.content
    found = response.json()
    assert [s["id"] for s in found] == [near.pk, middle.pk, far.pk]
    assert 320 < found[0]["distance_m"] < 345 and 2600 < found[2]["distance_m"] < 2800
    assert {"band", "band_label", "hazards"} <= set(found[0])
    assert "occupancy" not in found[0]


def test_the_nearest_open_shelters_are_those_for_the_hazard_chosen():
    place("洪水のみ", 139.4000, 35.4910, hazards=["flood"])
    quake = place("地震にも", 139.4000, 35.4950, hazards=["flood", "earthquake"])

    found = Client().get("/api/v1/map/public/nearest?lat=35.49&lon=139.40&hazard=earthquake")

    assert [s["id"] for s in found.json()] == [quake.pk]
    limited = Client().get("/api/v1/map/public/nearest?lat=35.49&lon=139.40&limit=1")
    assert len(limited.json()) == 1


def test_the_nearest_search_uses_the_knn_operator_on_the_index():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place("近い", 139.4000, 35.4930)
    with CaptureQueriesContext(connection) as queries:
        Client().get("/api/v1/map/public/nearest?lat=35.49&lon=139.40")

    assert any("<->" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(
    "query",
    [
        "lat=95&lon=139.4",
        "lat=35.49&lon=200",
        "lat=35.49",
        "lat=abc&lon=139.4",
        "lat=35.49&lon=139.4&hazard=meteor",
        "lat=35.49&lon=139.4&limit=0",
    ],
)
def test_bad_coordinates_for_the_nearest_search_are_a_422(query):
    response = Client().get(f"/api/v1/map/public/nearest?{query}")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# The report layer's area filter


def test_reports_inside_a_geojson_area(api_as, ops_user):
    fields = {"category": "fire", "severity": 3, "source": "staff"}
    inside = DamageReport.objects.create(point=Point(139.41, 35.49, srid=4326), **fields)
    DamageReport.objects.create(point=Point(139.43, 35.49, srid=4326), **fields)
    area = quote(SQUARE.json)

    found = features(api_as(ops_user).get(f"/api/v1/map/reports.geojson?area={area}"))

    assert [f["id"] for f in found] == [inside.pk]


@pytest.mark.parametrize(
    "area",
    [
        "{not json",
        '{"type": "Point", "coordinates": [139.4, 35.4]}',
        '{"type": "Polygon", "coordinates": [[[139.4, 35.4], [139.5, 35.5]]]}',
        # A bow tie: a polygon crossing itself.
        '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}',
        "[1, 2]",
    ],
)
def test_an_area_that_is_not_a_valid_geojson_polygon_is_a_422(api_as, ops_user, area):
    response = api_as(ops_user).get(f"/api/v1/map/reports.geojson?area={quote(area)}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "area"


def test_a_bad_bbox_says_what_a_bbox_is_in_the_visitors_language():
    japanese = Client().get("/api/v1/map/public/shelters.geojson?bbox=139.4,35.4,139.5")
    english = Client().get(
        "/api/v1/map/public/shelters.geojson?bbox=139.4,35.4,139.5", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert japanese.status_code == english.status_code == 422
    assert "西,南,東,北" in japanese.json()["message"]
    assert "west,south,east,north" in english.json()["message"]
