"""`manage.py setup_city` on 相模原市's real files (../shared/data: GSI shelters, the N03
outline of its three wards, the e-Stat 2015 small areas), from an empty database: what it
builds, that running it again changes nothing, and that the city then works as a city —
reports inside it are taken and outside refused, and an alert says how many people live in
its area.

Setting the city up takes a while, so the module runs it twice, once, records the database
after each run, and empties the database when its tests are done.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from django.apps import apps
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command
from django.db.models import Max, Sum
from django.test import override_settings

from alerts.models import Alert
from disaster.city_setup import CityFiles, setup_city
from disaster.core.errors import Invalid
from disaster.core.events import flush_broadcasts
from disaster.core.geography import CityBoundary, District
from disaster.core.models import AuditEntry, Event, User
from disaster.core.roles import Role
from disaster.demo import DATA
from disaster.reports.models import DamageReport
from disaster.reports.services import NewReport, create_report
from shelters.models import Shelter
from stockpile.models import Depot, Item

pytestmark = pytest.mark.django_db

SAGAMIHARA = {"CITY_CODE": "141500", "CITY_NAME": "相模原市"}
ESTAT = DATA / "estat-14150"
BOUNDARY = ESTAT / "mlit-n03-boundary-14150.geojson"
SMALL_AREAS = ESTAT / "estat-2015-chome-14150-joined.geojson"
SHELTERS = [DATA / "gsi-evacuation-141500.geojson", DATA / "gsi-emergency-141500.geojson"]
ADMIN_PASSWORD = "a password from the environment"


def command_args() -> list[str]:
    return [
        "--boundary",
        str(BOUNDARY),
        "--shelters",
        *map(str, SHELTERS),
        "--small-areas",
        str(SMALL_AREAS),
    ]


def features(path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8-sig"))["features"]


def database_state() -> dict:
    """Every model's row count, the newest audit entry and event, and every district."""
    return {
        "counts": {m._meta.label: m._default_manager.count() for m in apps.get_models()},
        "last_audit_entry": AuditEntry.objects.aggregate(last=Max("id"))["last"],
        "last_event": Event.objects.aggregate(last=Max("id"))["last"],
        "districts": [
            {**d, "area": d["area"].ewkt} for d in District.objects.order_by("pk").values()
        ],
        "boundary": [b["area"].ewkt for b in CityBoundary.objects.values()],
        "shelters": [{**s, "point": s["point"].ewkt} for s in Shelter.objects.values()],
        "items": list(Item.objects.order_by("pk").values()),
        "admin": list(User.objects.values("username", "role", "password")),
    }


@pytest.fixture(scope="module")
def runs(django_db_setup, django_db_blocker):
    """The output and the database after setting the city up once, and again."""
    outputs, states = [], []
    with django_db_blocker.unblock(), override_settings(**SAGAMIHARA):
        assert not Shelter.objects.exists() and not District.objects.exists()
        for _ in range(2):
            out = io.StringIO()
            os.environ["SONAE_ADMIN_PASSWORD"] = ADMIN_PASSWORD
            try:
                call_command("setup_city", *command_args(), stdout=out)
            finally:
                del os.environ["SONAE_ADMIN_PASSWORD"]
            outputs.append(out.getvalue())
            states.append(database_state())
        flush_broadcasts()
    yield outputs, states
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def city(runs, settings):
    settings.CITY_CODE, settings.CITY_NAME = SAGAMIHARA["CITY_CODE"], SAGAMIHARA["CITY_NAME"]
    return runs


def test_the_boundary_is_sagamiharas_three_wards_joined(city):
    boundary = CityBoundary.objects.get()

    assert (boundary.code, boundary.name) == ("141500", "相模原市")
    assert "国土数値情報" in boundary.source
    wards = [Polygon(f["geometry"]["coordinates"][0], srid=4326) for f in features(BOUNDARY)]
    assert len(wards) == 3
    for ward in wards:
        assert boundary.area.covers(ward.point_on_surface)
    assert "区を結合: 中央区、南区、緑区" in city[0][0]


def test_shelters_are_sagamiharas_designated_shelters_and_emergency_sites(city):
    evacuation, emergency = (features(path) for path in SHELTERS)
    shelters = Shelter.objects.all()

    assert (len(evacuation), len(emergency)) == (105, 167)
    assert shelters.filter(is_shelter=True).count() == 105
    assert shelters.filter(is_evacuation_site=True).count() == 167
    both = shelters.filter(is_shelter=True, is_evacuation_site=True).count()
    assert shelters.count() == 105 + 167 - both
    assert set(shelters.values_list("gsi_shelter_id", flat=True)) - {None} == {
        f["properties"]["共通ID"] for f in evacuation
    }


def test_districts_are_the_409_small_areas_with_their_census_population(city):
    districts = District.objects.all()

    assert districts.count() == 409
    assert districts.population() == {
        "population": 720_780,
        "households": 311_188,
        "without_figures": 0,
    }
    assert not districts.filter(is_derived=True).exists()
    assert all(d.source.startswith("政府統計の総合窓口(e-Stat)") for d in districts)
    codes = {f["properties"]["KEY_CODE"] for f in features(SMALL_AREAS)}
    assert set(districts.values_list("code", flat=True)) == codes
    midori = District.objects.get(code="14152020002")
    assert (midori.name, midori.population, midori.households) == ("緑が丘２丁目", 1837, 705)


def test_small_areas_sharing_a_name_are_told_apart_by_their_code(city):
    # e-Stat names two areas of 南区 plain 下溝, and three of 中央区 上溝（番１）.
    assert sorted(
        District.objects.filter(name__startswith="下溝").values_list("name", flat=True)
    ) == [
        "下溝（14153031000）",
        "下溝（14153031001）",
    ]
    assert District.objects.filter(name__startswith="上溝（番１）（").count() == 3


def test_an_area_in_pieces_is_one_district_with_every_piece(city):
    pieces = {
        f["properties"]["KEY_CODE"]: f["geometry"]
        for f in features(SMALL_AREAS)
        if f["geometry"]["type"] == "MultiPolygon"
    }

    assert len(pieces) == 13
    for code, geometry in pieces.items():
        district = District.objects.get(code=code)
        assert len(district.area) == len(geometry["coordinates"]), district.name


def test_every_designated_shelter_has_a_depot_and_the_catalogue_has_national_norms(city):
    designated = Shelter.objects.filter(is_shelter=True)

    assert Depot.objects.count() == designated.count() == 105
    assert Depot.objects.filter(shelter__in=designated).count() == 105
    assert Item.objects.count() == 18
    assert Item.objects.get(code="water").norm_per_person_day == 3
    assert Item.objects.get(code="toilet-bags").norm_per_person_day == 5
    assert Item.objects.get(code="formula").group_norms.get(group="infants").per_day == 6


def test_an_administrator_is_made_with_the_password_from_the_environment(city):
    admin = User.objects.get(username="admin")

    assert (admin.role, admin.is_staff) == (Role.ADMINISTRATOR, True)
    assert admin.check_password(ADMIN_PASSWORD)
    assert "password" not in city[0][0].lower()  # nothing to print: it came from the env


def test_each_step_is_reported_and_running_again_changes_nothing(city):
    (first, second), (before, after) = city

    for step in ("市区町村境界", "避難所・避難場所", "地区", "備蓄倉庫", "品目", "管理者"):
        assert step in first and step in second
    assert "地区: 新規 409・更新 0・変更なし 0" in first
    assert "地区: 新規 0・更新 0・変更なし 409" in second
    assert "新規 0・更新 0" in second and "新規 1" not in second
    assert "Nothing to change" in second
    for part in before:
        assert after[part] == before[part], part


def test_a_report_inside_the_city_is_accepted_and_one_outside_refused(city):
    ops = User.objects.create(username="ops-sagamihara", role=Role.OPERATIONS)
    city_hall = NewReport(latitude=35.5714, longitude=139.3733, category="building", severity=2)
    zama = NewReport(latitude=35.4887, longitude=139.4077, category="building", severity=2)

    report = create_report(city_hall, source=DamageReport.Source.STAFF, by=ops)

    assert report.point.equals(Point(139.3733, 35.5714, srid=4326))
    with pytest.raises(Invalid) as refused:
        create_report(zama, source=DamageReport.Source.STAFF, by=ops)
    assert "相模原市の外" in refused.value.message


def alert_to(**target) -> Alert:
    districts = target.pop("districts", [])
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示",
        body_ja="避難してください",
        channels=["line"],
        **target,
    )
    alert.districts.set(districts)
    return alert


def test_an_alerts_target_population_is_the_sum_over_its_districts(city, api_as):
    ops = User.objects.create(username="ops-population", role=Role.OPERATIONS)
    chosen = list(District.objects.filter(name__endswith="丁目").order_by("code")[:7])
    alert = alert_to(districts=chosen)

    answer = api_as(ops).get(f"/api/v1/alerts/{alert.pk}/recipients").json()

    assert answer["population"] == sum(d.population for d in chosen) > 0
    assert answer["households"] == sum(d.households for d in chosen) > 0
    assert (answer["districts"], answer["districts_partial"]) == (7, 0)
    assert "一部だけ含まれる地区も" in answer["population_method"]
    whole = alert_to(whole_city=True)
    answer = api_as(ops).get(f"/api/v1/alerts/{whole.pk}/recipients").json()
    assert (answer["population"], answer["households"]) == (720_780, 311_188)


def test_a_drawn_area_counts_the_districts_it_covers_or_reaches_into_whole(city, api_as):
    ops = User.objects.create(username="ops-drawn", role=Role.OPERATIONS)
    inside = District.objects.get(code="14152020002")  # 緑が丘２丁目
    # Its own shape, grown by ~50 m: it covers the district and reaches into its neighbours.
    drawn = inside.area.buffer(0.0005)  # one polygon: the district is one piece
    reached = District.objects.filter(area__intersects=drawn).exclude(area__touches=drawn)
    alert = alert_to(area=MultiPolygon(drawn, srid=4326))

    answer = api_as(ops).get(f"/api/v1/alerts/{alert.pk}/recipients").json()

    expected = reached.aggregate(p=Sum("population"), h=Sum("households"))
    assert answer["population"] == expected["p"] > inside.population
    assert answer["households"] == expected["h"]
    assert answer["districts"] == reached.count() > 1
    assert answer["districts_partial"] == reached.count() - 1  # all but 緑が丘２丁目


def test_a_trial_run_reports_and_writes_nothing(city):
    before = database_state()
    files = CityFiles(
        boundary=BOUNDARY.read_bytes(),
        shelters=[(p.name, p.read_bytes()) for p in SHELTERS],
        small_areas=SMALL_AREAS.read_bytes(),
    )

    result = setup_city(files, admin_username="someone-new", dry_run=True)

    assert result.dry_run and result.admin_password is None
    assert [s.created for s in result.steps][-1] == 1  # the new administrator, not kept
    assert database_state() == before


def test_a_boundary_of_another_city_is_refused_naming_the_settings_to_change(city):
    with pytest.raises(CommandError) as refused:
        call_command(
            "setup_city",
            "--boundary",
            str(DATA / "mlit-n03-boundary-14216.geojson"),
            stdout=io.StringIO(),
        )

    assert "CITY_CODE=142166 CITY_NAME=座間市" in str(refused.value)
    assert CityBoundary.objects.get().code == "141500"
