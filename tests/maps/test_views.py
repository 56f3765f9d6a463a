"""The map pages as a browser asks for them: who may open them, what they carry, languages."""

import datetime as dt
import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client
from django.utils import timezone

from alerts.models import Alert
from disaster.core.geography import District
from disaster.core.models import Event
from shelters.models import Shelter
from shelters.services import record_headcount
from stockpile.models import Depot, Item

pytestmark = pytest.mark.django_db


def ops_state(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="ops-state" type="application/json">') + len(
        '<script id="ops-state" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_operations_map_sends_anonymous_visitors_to_log_in():
    response = Client().get("/ops/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/ops/")


def test_the_operations_map_is_refused_to_shelter_managers(session_as, manager_user):
    assert session_as(manager_user).get("/ops/").status_code == 403


@pytest.mark.parametrize("role", ["ops_user", "admin_user"])
def test_operations_staff_and_administrators_open_the_operations_map(
    request, session_as, role, shelter
):
    response = session_as(request.getfixturevalue(role)).get("/ops/")

    assert response.status_code == 200
    assert b'id="opsmap"' in response.content
    assert [s["name"] for s in ops_state(response)["shelters"]] == [shelter.name]


def test_the_operations_map_starts_from_the_latest_event_and_the_latest_head_count(
    session_as, ops_user, shelter
):
    shelter.status = Shelter.Status.OPEN
    shelter.save()
    record_headcount(shelter.pk, by=ops_user, total=120, elderly=7, infants=3)

    state = ops_state(session_as(ops_user).get("/ops/"))

    assert state["last_event_id"] == Event.objects.latest("id").id
    [row] = state["shelters"]
    assert (row["occupancy"], row["care_needs"], row["status"]) == (120, 10, "open")
    assert state["evacuees"][-1][1] == 120
    assert state["events"][-1]["kind"] == "shelter.headcount"


def test_markup_in_a_shelter_name_stays_inert_in_the_page(session_as, ops_user, shelter):
    shelter.name = "</script><script>alert(1)</script>"
    shelter.save()

    html = session_as(ops_user).get("/ops/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert ops_state(session_as(ops_user).get("/ops/"))["shelters"][0]["name"] == shelter.name


@pytest.mark.parametrize("path", ["/map/", "/map/report/"])
def test_the_public_pages_open_without_logging_in_in_japanese(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert b'<html lang="ja">' in response.content


@pytest.mark.parametrize("path", ["/map/", "/map/report/"])
def test_the_public_pages_speak_english_when_asked(path):
    response = Client(headers={"Accept-Language": "en"}).get(path)

    assert b'<html lang="en">' in response.content
    assert "避難所".encode() not in response.content.split(b"<footer")[0].split(b"<main")[1]


def test_the_public_map_states_the_crowded_threshold_it_is_configured_with(settings):
    settings.MAP_CROWDED_PERCENT = 70

    japanese = Client().get("/map/").content.decode()
    english = Client(headers={"Accept-Language": "en"}).get("/map/").content.decode()

    assert "空き（70% 未満）・混雑（70% 以上）" in japanese
    assert "Space (under 70%), Crowded (70% or more)" in english


def test_the_public_map_reads_the_public_layers_that_carry_bands_not_head_counts():
    page = Client().get("/map/").content.decode()

    assert 'data-shelters-url="/api/v1/map/public/shelters.geojson"' in page
    assert 'data-nearest-url="/api/v1/map/public/nearest"' in page


def test_the_operations_map_starts_with_each_shortage_and_the_names_to_show_it(
    session_as, ops_user, shelter
):
    water = Item.objects.create(
        code="water",
        category=Item.Category.WATER,
        name_ja="飲料水（500ml）",
        unit_ja="本",
        norm_per_person_day=6,
    )
    depot = Depot.objects.create(name="倉庫", point=shelter.point, shelter=shelter)
    record_headcount(shelter.pk, by=ops_user, total=50)

    state = ops_state(session_as(ops_user).get("/ops/"))

    [shortage] = state["shortages"]
    assert (shortage["shelter_id"], shortage["item_id"], shortage["on_hand"]) == (
        shelter.pk,
        water.pk,
        0,
    )
    assert state["items"][str(water.pk)] == "飲料水（500ml）"
    assert state["depots"][str(depot.pk)] == {"name": "倉庫", "shelter_id": shelter.pk}


def test_the_operations_map_speaks_english_when_asked(ops_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(ops_user)

    response = client.get("/ops/")

    assert b'<html lang="en">' in response.content
    assert b"<h1>Operations map</h1>" in response.content
    # The page script's strings come from the JavaScript catalogue, in the same language.
    assert b'<script defer src="/jsi18n/"></script>' in response.content
    catalogue = client.get("/jsi18n/").content.decode()
    assert json.dumps("Disconnected — reconnecting…") in catalogue


def test_the_operations_map_starts_with_the_alerts_in_force_and_their_areas(session_as, ops_user):
    square = MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)), srid=4326)
    district = District.objects.create(name="相模が丘", area=square)
    now = timezone.now()

    def alert(title: str, status: str, sent_minutes_ago: int = 5, **extra) -> Alert:
        made = Alert.objects.create(
            kind=Alert.Kind.EVACUATION_4,
            title_ja=title,
            body_ja="避難してください。",
            channels=["sms"],
            status=status,
            sent_at=now - dt.timedelta(minutes=sent_minutes_ago),
            **extra,
        )
        made.districts.add(district)
        return made

    in_force = alert("避難指示 相模が丘", Alert.Status.SENT)
    alert("取消済み", Alert.Status.CANCELLED)
    alert("下書き", Alert.Status.DRAFT)
    alert("期限切れ", Alert.Status.SENT, sent_minutes_ago=90, valid_minutes=60)
    drawn = alert("区域指定", Alert.Status.APPROVED, area=square)

    state = ops_state(session_as(ops_user).get("/ops/"))

    by_title = {a["title"]: a for a in state["alerts"]}
    assert sorted(by_title) == ["区域指定", "避難指示 相模が丘"]
    assert by_title["避難指示 相模が丘"]["district_ids"] == [district.pk]
    assert by_title["避難指示 相模が丘"]["id"] == in_force.pk
    assert by_title["区域指定"]["area"]["type"] == "MultiPolygon"
    assert by_title["区域指定"]["id"] == drawn.pk
    assert state["districts"]["features"][0]["properties"]["id"] == district.pk


def test_the_operations_map_opens_on_its_shelters_and_preloads_its_newest_reports(
    session_as, ops_user, shelter
):
    Shelter.objects.create(name="西", address="座間市", point=Point(139.39, 35.47, srid=4326))

    html = session_as(ops_user).get("/ops/").content.decode()

    assert 'data-city-view="[[35.47, 139.39], [35.512, 139.416]]"' in html
    markers = "/api/v1/map/reports.geojson?status=new&amp;status=verified&amp;status=assigned"
    preload = '<link rel="preload" as="fetch" crossorigin="anonymous"'
    assert f'{preload} href="{markers}&amp;limit=1000">' in html
    assert 'data-markers-limit="1000"' in html


def test_the_operations_map_without_a_shelter_opens_on_the_default_view(session_as, ops_user):
    html = session_as(ops_user).get("/ops/").content.decode()

    assert 'data-city-view="null"' in html
