"""The demo city, 座間市, loaded from the real open data in ../shared/data: what it contains,
and that loading it again changes nothing.

Loading takes a while, so the module loads it twice, once, records what the database looked
like after each load, and empties the database again when its tests are done.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.gis.db.models import Union
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db.models import Max, Sum
from django.test import RequestFactory

from disaster.core.events import flush_broadcasts
from disaster.core.geography import CityBoundary, District
from disaster.core.models import AuditEntry, Event, User
from disaster.core.roles import Role
from disaster.demo import DATA, DEMO_PASSWORD
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from stockpile.models import Depot, Item, Lot

pytestmark = pytest.mark.django_db

EVACUATION = DATA / "gsi-evacuation-142166.geojson"  # 指定避難所
EMERGENCY = DATA / "gsi-emergency-142166.geojson"  # 指定緊急避難場所
CHOME = DATA / "estat-h27-chome-attributes-14216.csv"  # the 2015 census small areas

# The GSI columns of the hazard flags, and what Sonae calls each hazard.
GSI_FLAGS = {
    "洪水": "flood",
    "崖崩れ、土石流及び地滑り": "landslide",
    "高潮": "storm_surge",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "large_fire",
    "内水氾濫": "inland_flooding",
    "火山現象": "volcano",
}


def features(path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8-sig"))["features"]


def database_state() -> dict:
    """Everything the demo could have touched: every model's row count, the newest audit
    entry and event, and the fields of every shelter, district and lot."""
    return {
        "counts": {m._meta.label: m._default_manager.count() for m in apps.get_models()},
        "last_audit_entry": AuditEntry.objects.aggregate(last=Max("id"))["last"],
        "last_event": Event.objects.aggregate(last=Max("id"))["last"],
        "shelters": [
            {**shelter, "point": shelter["point"].ewkt}
            for shelter in Shelter.objects.order_by("pk").values()
        ],
        "managers": list(Shelter.managers.through.objects.order_by("pk").values()),
        "districts": [
            {**district, "area": district["area"].ewkt}
            for district in District.objects.order_by("pk").values()
        ],
        "lots": list(Lot.objects.order_by("pk").values()),
        "items": list(Item.objects.order_by("pk").values()),
    }


@pytest.fixture(scope="module")
def loads(django_db_setup, django_db_blocker):
    """The database state after loading the demo once, and after loading it again."""
    with django_db_blocker.unblock():
        call_command("load_demo", stdout=io.StringIO())
        first = database_state()
        call_command("load_demo", stdout=io.StringIO())
        second = database_state()
        flush_broadcasts()
    yield first, second
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(loads):
    return loads[0]


def test_the_demo_city_has_zamas_designated_shelters_and_emergency_sites(demo):
    shelters = Shelter.objects.all()

    assert (len(features(EVACUATION)), len(features(EMERGENCY))) == (35, 59)
    assert shelters.filter(is_shelter=True).count() == 35
    assert shelters.filter(is_evacuation_site=True).count() == 59
    # 14 facilities are in both datasets (under two 共通ID) and become one shelter each.
    assert shelters.filter(is_shelter=True, is_evacuation_site=True).count() == 14
    assert shelters.count() == 35 + 59 - 14


def test_every_shelter_keeps_its_gsi_ids_name_and_address(demo):
    for path, id_field in [(EVACUATION, "gsi_shelter_id"), (EMERGENCY, "gsi_site_id")]:
        for feature in features(path):
            props = feature["properties"]
            shelter = Shelter.objects.get(**{id_field: props["共通ID"]})
            assert shelter.name == props["施設・場所名"].strip()
            assert shelter.address == props["住所"].strip()


def test_emergency_sites_serve_the_hazards_their_gsi_flags_say(demo):
    for feature in features(EMERGENCY):
        props = feature["properties"]
        flagged = [hazard for column, hazard in GSI_FLAGS.items() if props.get(column) == "1"]

        assert Shelter.objects.get(gsi_site_id=props["共通ID"]).hazards == flagged

    assert Shelter.objects.serving("earthquake").exists()
    assert not Shelter.objects.filter(is_evacuation_site=False).exclude(hazards=[]).exists()


def test_designated_shelters_have_plausible_capacities_and_sites_only_daytime_ones(demo):
    for shelter in Shelter.objects.all():
        if shelter.is_shelter:
            assert shelter.capacity > 0
        else:
            assert (shelter.capacity, shelter.capacity_day > 0) == (0, True)


def test_the_city_boundary_is_zamas_and_holds_its_shelters(demo):
    boundary = CityBoundary.objects.get()

    assert (boundary.code, boundary.name) == ("142166", "座間市")
    assert "国土数値情報" in boundary.source
    outside = Shelter.objects.filter(is_shelter=True).exclude(point__within=boundary.area)
    assert list(outside) == []


def test_districts_are_labelled_derived_lie_within_the_city_and_cover_its_shelters(demo):
    boundary = CityBoundary.objects.get().area
    districts = District.objects.all()

    assert districts.count() > 1
    for district in districts:
        assert district.is_derived
        assert district.source.startswith("推定")
        assert district.area.difference(boundary).area < 1e-9, district.name
    for shelter in Shelter.objects.filter(point__within=boundary):
        assert districts.filter(area__covers=shelter.point).exists(), shelter.name
    # Together they are the whole city: no gaps, nothing outside it.
    city = districts.aggregate(city=Union("area"))["city"]
    assert city.sym_difference(boundary).area < boundary.area * 1e-6


def test_districts_are_zamas_census_areas_with_their_population_and_households(demo):
    rows = list(csv.DictReader(CHOME.open(encoding="utf-8-sig")))
    districts = District.objects.all()

    # 66 rows, 64 areas: 栗原 14216030300 comes in three pieces, each with its own point.
    assert (len(rows), len({row["KEY_CODE"] for row in rows})) == (66, 64)
    assert districts.count() == 64
    assert districts.population() == {
        "population": 128_737,
        "households": 55_910,
        "without_figures": 0,
    }
    assert set(districts.values_list("code", flat=True)) == {row["KEY_CODE"] for row in rows}
    # Two 栗原 and two 座間 in the census: told apart by their codes.
    assert District.objects.get(code="14216030300").name == "栗原（14216030300）"
    assert District.objects.get(code="14216180004").name == "南栗原４丁目"
    for row in rows:
        point = Point(float(row["X_CODE"]), float(row["Y_CODE"]), srid=4326)
        assert District.objects.get(code=row["KEY_CODE"]).area.covers(point), row["MOJI"]


def test_the_catalogue_has_national_norms_where_there_are_any(demo):
    water = Item.objects.get(code="water")

    assert (water.norm_per_person_day, water.unit_ja, water.unit_en) == (Decimal(3), "L", "L")
    assert Item.objects.get(code="toilet-bags").norm_per_person_day == Decimal(5)
    meals = Item.objects.filter(code__in=["alpha-rice", "biscuits"])
    assert sum(item.norm_per_person_day for item in meals) == 3
    assert Item.objects.get(code="blankets").norm_per_person_day is None


def test_every_lot_holds_exactly_what_its_movements_add_up_to(demo):
    lots = Lot.objects.annotate(moved=Sum("movements__quantity"))

    assert lots.exists()
    for lot in lots:
        assert lot.on_hand == lot.moved > 0, lot


def test_every_designated_shelter_and_a_central_depot_hold_stock(demo):
    shelters = Shelter.objects.filter(is_shelter=True)

    assert Depot.objects.filter(shelter__in=shelters).count() == shelters.count()
    assert Depot.objects.filter(shelter=None).count() == 1
    for depot in Depot.objects.all():
        assert depot.lots.filter(item__code="water", on_hand__gt=0).exists(), depot


def test_there_is_a_demo_user_in_every_role(demo):
    for role in Role:
        assert User.objects.filter(role=role).exists(), role
    manager = User.objects.get(username="manager")
    assert manager.managed_shelters.count() == 2
    login = RequestFactory().post("/login/")  # django-axes counts logins per request
    ops = authenticate(login, username="ops", password=DEMO_PASSWORD)
    assert ops == User.objects.get(username="ops")


def test_loading_the_demo_again_changes_nothing(loads):
    first, second = loads

    assert first["counts"]["shelters.Shelter"] == 80
    assert first["counts"]["disaster.AuditEntry"] > 0
    assert first["counts"]["disaster.Event"] > 0
    for part in first:
        assert second[part] == first[part], part


def test_the_demo_has_damage_reports_inside_the_city_some_triaged(demo):
    reports = DamageReport.objects.all()

    assert reports.count() >= 10
    assert reports.filter(status="verified").exists()
    boundary = CityBoundary.objects.get()
    assert all(boundary.area.intersects(r.point) for r in reports)
