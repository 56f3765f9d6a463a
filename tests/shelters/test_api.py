"""The shelters API: the public list residents search (nearest open shelter first), the
detail staff see, status changes, master-data corrections and head-counts.

Changing status and correcting master data are different acts on purpose: a corrected
phone number must never look like, or announce, an opening or a closing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from disaster.core.models import AuditEntry, Event
from shelters.models import HeadCount, Shelter

API = "/api/v1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made in almost every test here; nobody logs in with their password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def park(db) -> Shelter:
    """An evacuation site only (避難場所: somewhere to flee to, not to stay), 6 km away."""
    return Shelter.objects.create(
        name="県立座間谷戸山公園",
        address="神奈川県座間市入谷西2-21",
        point=Point(139.3600, 35.4500, srid=4326),
        is_shelter=False,
        is_evacuation_site=True,
        hazards=["earthquake", "large_fire"],
        status=Shelter.Status.OPEN,
    )


def post(client: Client, path: str, body: dict):
    return client.post(API + path, body, content_type="application/json")


def patch(client: Client, path: str, body: dict):
    return client.patch(API + path, body, content_type="application/json")


def listed(client: Client, **params) -> list[dict]:
    response = client.get(f"{API}/shelters", params)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def error_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def kinds_published() -> list[str]:
    return list(Event.objects.order_by("id").values_list("kind", flat=True))


# The public list ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_anyone_may_list_the_shelters_with_status_and_a_band_but_no_head_count(
    api_as, shelter, other_shelter
):
    shelters = listed(api_as(None))

    assert {s["name"] for s in shelters} == {shelter.name, other_shelter.name}
    first = next(s for s in shelters if s["id"] == shelter.pk)
    assert (first["status"], first["band"], first["band_label"]) == ("closed", "free", "空き")
    assert (first["occupancy"], first["percent_of_capacity"]) == (None, None)
    assert (first["latitude"], first["longitude"]) == (35.5120, 139.4160)
    assert first["capacity"] == 600
    assert "email" not in first and "notes" not in first


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, {"park"}),
        ({"status": ["open", "closed"]}, {"shelter", "other_shelter", "park"}),
        ({"hazard": "large_fire"}, {"shelter", "park"}),
        ({"hazard": "tsunami"}, set()),
        ({"is_shelter": "true"}, {"shelter", "other_shelter"}),
        ({"is_evacuation_site": "true"}, {"park"}),
        ({"q": "栗原"}, {"other_shelter"}),
        ({"q": "入谷"}, {"park"}),  # a part of the address
    ],
)
def test_the_list_filters_by_status_hazard_kind_and_name(
    api_as, shelter, other_shelter, park, params, expected
):
    names = {shelter.pk: "shelter", other_shelter.pk: "other_shelter", park.pk: "park"}

    found = {names[s["id"]] for s in listed(api_as(None), **params)}

    assert found == expected


@pytest.mark.django_db
def test_near_lat_and_near_lon_list_the_nearest_shelter_first(api_as, shelter, other_shelter, park):
    near_kurihara = {"near_lat": 35.491, "near_lon": 139.401}
    near_the_park = {"near_lat": 35.451, "near_lon": 139.361}

    assert [s["id"] for s in listed(api_as(None), **near_kurihara)] == [
        other_shelter.pk,
        shelter.pk,
        park.pk,
    ]
    assert [s["id"] for s in listed(api_as(None), **near_the_park)] == [
        park.pk,
        other_shelter.pk,
        shelter.pk,
    ]
    assert [s["id"] for s in listed(api_as(None), status="open", **near_kurihara)] == [park.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near_lat": 35.5}, "near_lat"),  # without near_lon
        ({"near_lat": 48.8566, "near_lon": 2.3522}, "near_lat"),  # Paris: not in Japan
        ({"near_lat": 35.5, "near_lon": 200}, "near_lon"),
    ],
)
def test_nearest_first_needs_both_coordinates_within_japan(api_as, shelter, params, field):
    response = api_as(None).get(f"{API}/shelters", params)

    assert response.status_code == 422
    assert field in error_fields(response)


@pytest.mark.django_db
def test_a_shelter_can_be_fetched_by_anyone_and_its_detail_by_staff_and_its_managers(
    api_as, users, manager_user, shelter, other_shelter
):
    shelter.email = "sagamigaoka@example.jp"
    shelter.save()

    public = api_as(None).get(f"{API}/shelters/{shelter.pk}")
    detail = api_as(manager_user).get(f"{API}/shelters/{shelter.pk}/detail")

    assert public.status_code == 200
    assert "email" not in public.json()
    assert detail.status_code == 200
    assert detail.json()["email"] == "sagamigaoka@example.jp"
    assert api_as(None).get(f"{API}/shelters/{shelter.pk}/detail").status_code == 401
    assert api_as(manager_user).get(f"{API}/shelters/{other_shelter.pk}/detail").status_code == 403
    assert api_as(None).get(f"{API}/shelters/987654").status_code == 404


# Status ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changing_the_status_records_who_and_when_and_announces_it(
    api_as, manager_user, shelter, published
):
    before = shelter.status_changed_at

    response = post(
        api_as(manager_user), f"/shelters/{shelter.pk}/status", {"status": "open", "note": "開設"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["status_changed_by"]) == ("open", manager_user.username)
    shelter.refresh_from_db()
    assert shelter.status == Shelter.Status.OPEN
    assert shelter.status_changed_by == manager_user
    assert shelter.status_changed_at > before
    (event,) = published("shelter.status_changed")
    assert {k: event[k] for k in ("shelter_id", "status", "previous", "note")} == {
        "shelter_id": shelter.pk,
        "status": "open",
        "previous": "closed",
        "note": "開設",
    }
    assert AuditEntry.objects.filter(action="shelter.status", actor=manager_user).count() == 1
    assert [s["status"] for s in listed(api_as(None)) if s["id"] == shelter.pk] == ["open"]


@pytest.mark.django_db
def test_a_manager_of_another_shelter_cannot_change_its_status(api_as, manager_user, other_shelter):
    response = post(
        api_as(manager_user), f"/shelters/{other_shelter.pk}/status", {"status": "open"}
    )

    assert response.status_code == 403
    other_shelter.refresh_from_db()
    assert other_shelter.status == Shelter.Status.CLOSED
    assert kinds_published() == []


@pytest.mark.django_db
def test_setting_the_status_it_already_has_announces_nothing(api_as, ops_user, shelter):
    response = post(api_as(ops_user), f"/shelters/{shelter.pk}/status", {"status": "closed"})

    assert response.status_code == 200
    assert kinds_published() == []


@pytest.mark.django_db
def test_an_unknown_status_is_refused(api_as, ops_user, shelter):
    response = post(api_as(ops_user), f"/shelters/{shelter.pk}/status", {"status": "haunted"})

    assert response.status_code == 422
    assert error_fields(response) == {"status"}
    assert kinds_published() == []


# Master data -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_correcting_master_data_announces_a_correction_never_a_status_change(
    api_as, ops_user, shelter, published
):
    response = patch(
        api_as(ops_user),
        f"/shelters/{shelter.pk}",
        {"phone": "046-251-0001", "capacity": 650, "latitude": 35.5125},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["phone"], body["capacity"], body["latitude"]) == ("046-251-0001", 650, 35.5125)
    assert body["longitude"] == 139.4160  # only what was sent is corrected
    assert body["status"] == "closed"
    assert published("shelter.corrected") == [
        {"shelter_id": shelter.pk, "fields": ["capacity", "phone", "point"]}
    ]
    assert kinds_published() == ["shelter.corrected"]


@pytest.mark.django_db
def test_a_correction_cannot_change_the_status(api_as, ops_user, shelter):
    response = patch(api_as(ops_user), f"/shelters/{shelter.pk}", {"status": "open", "notes": "x"})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["status"]
    shelter.refresh_from_db()
    assert shelter.notes == ""
    assert shelter.status == Shelter.Status.CLOSED
    assert "shelter.status_changed" not in kinds_published()


@pytest.mark.django_db
def test_a_correction_that_changes_nothing_announces_nothing(api_as, ops_user, shelter):
    response = patch(api_as(ops_user), f"/shelters/{shelter.pk}", {"capacity": 600})

    assert response.status_code == 200
    assert kinds_published() == []


@pytest.mark.django_db
def test_master_data_is_corrected_by_staff_not_by_shelter_managers(api_as, manager_user, shelter):
    response = patch(api_as(manager_user), f"/shelters/{shelter.pk}", {"phone": "000"})

    assert response.status_code == 403
    shelter.refresh_from_db()
    assert shelter.phone == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [({"capacity": -1}, "capacity"), ({"latitude": 10.0}, "latitude"), ({"name": ""}, "name")],
)
def test_a_correction_out_of_bounds_is_refused_on_its_field(api_as, ops_user, shelter, body, field):
    response = patch(api_as(ops_user), f"/shelters/{shelter.pk}", body)

    assert response.status_code == 422
    assert error_fields(response) == {field}
    assert kinds_published() == []


# Head-counts -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_head_counts_keep_their_history_and_the_latest_is_the_current_occupancy(
    api_as, manager_user, shelter, published
):
    client = api_as(manager_user)
    for total, elderly in [(120, 30), (310, 80), (290, 75)]:
        response = post(
            client, f"/shelters/{shelter.pk}/headcounts", {"total": total, "elderly": elderly}
        )
        assert response.status_code == 201
        assert response.json()["by"] == manager_user.username

    history = client.get(f"{API}/shelters/{shelter.pk}/headcounts").json()["items"]
    (row,) = [s for s in listed(client) if s["id"] == shelter.pk]

    assert [(h["total"], h["elderly"]) for h in history] == [(290, 75), (310, 80), (120, 30)]
    assert (row["occupancy"], row["occupancy_at"]) == (290, history[0]["observed_at"])
    assert row["percent_of_capacity"] == round(100 * 290 / 600, 1)
    assert [
        (e["total"], e["capacity"], e["percent_of_capacity"])
        for e in published("shelter.headcount")
    ] == [(120, 600, 20.0), (310, 600, 51.7), (290, 600, 48.3)]
    assert HeadCount.objects.count() == 3


@pytest.mark.django_db
def test_head_count_history_can_be_limited_to_a_period(api_as, manager_user, shelter):
    at = [dt.datetime(2025, 9, 1, hour, tzinfo=dt.UTC) for hour in (0, 6, 12)]
    for total, when in zip([50, 80, 120], at, strict=True):
        HeadCount.objects.create(shelter=shelter, total=total, observed_at=when)
    client = api_as(manager_user)

    def totals(**params) -> list[int]:
        response = client.get(f"{API}/shelters/{shelter.pk}/headcounts", params)
        assert response.status_code == 200, response.content
        return [row["total"] for row in response.json()["items"]]

    assert totals() == [120, 80, 50]
    assert totals(since="2025-09-01T06:00:00Z") == [120, 80]
    assert totals(until="2025-09-01T15:00:00+09:00") == [50]  # 06:00 UTC: the end is excluded
    assert totals(until="2025-09-01T16:00:00+09:00") == [80, 50]
    assert totals(since="2025-09-01T01:00:00Z", until="2025-09-01T07:00:00Z") == [80]


@pytest.mark.django_db
def test_a_shelter_without_a_capacity_has_no_percentage(api_as, ops_user, shelter):
    Shelter.objects.filter(pk=shelter.pk).update(capacity=0)

    response = post(api_as(ops_user), f"/shelters/{shelter.pk}/headcounts", {"total": 40})
    (row,) = [s for s in listed(api_as(ops_user)) if s["id"] == shelter.pk]

    assert response.json()["percent_of_capacity"] is None
    assert (row["occupancy"], row["percent_of_capacity"]) == (40, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"total": HeadCount.MAX_PEOPLE + 1}, "total"),
        ({"total": -1}, "total"),
        ({"total": 10, "pets": HeadCount.MAX_PEOPLE + 1}, "pets"),
        ({"total": 100, "elderly": 101}, "elderly"),  # a need is counted within the total
        ({"total": 100, "medical_care": 250}, "medical_care"),
    ],
)
def test_a_head_count_out_of_bounds_is_refused_naming_the_field(
    api_as, manager_user, shelter, body, field
):
    response = post(api_as(manager_user), f"/shelters/{shelter.pk}/headcounts", body)

    assert response.status_code == 422
    assert error_fields(response) == {field}
    assert not HeadCount.objects.exists()
    assert kinds_published() == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["ops_user", "manager_user"])
@pytest.mark.parametrize(
    ("path", "body"),
    [("headcounts", {"total": 10}), ("status", {"status": "open"})],
    ids=["headcount", "status"],
)
def test_writing_to_an_unknown_shelter_is_not_found_and_writes_nothing(
    request, api_as, shelter, role, path, body
):
    client = api_as(request.getfixturevalue(role))

    response = post(client, f"/shelters/987654/{path}", body)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not HeadCount.objects.exists()
    assert kinds_published() == []


@pytest.mark.django_db
def test_the_largest_head_count_and_more_pets_than_people_are_accepted(api_as, ops_user, shelter):
    body = {"total": HeadCount.MAX_PEOPLE, "elderly": HeadCount.MAX_PEOPLE, "pets": 5}

    response = post(api_as(ops_user), f"/shelters/{shelter.pk}/headcounts", body)

    assert response.status_code == 201
    body = {"total": 3, "elderly": 0, "pets": 8}
    small = post(api_as(ops_user), f"/shelters/{shelter.pk}/headcounts", body)
    assert small.status_code == 201  # pets are counted apart from people


@pytest.mark.django_db
def test_a_manager_of_another_shelter_cannot_count_or_read_its_head_counts(
    api_as, manager_user, other_shelter
):
    client = api_as(manager_user)

    written = post(client, f"/shelters/{other_shelter.pk}/headcounts", {"total": 5})
    read = client.get(f"{API}/shelters/{other_shelter.pk}/headcounts")

    assert (written.status_code, read.status_code) == (403, 403)
    assert not HeadCount.objects.exists()


def test_nearest_is_by_metres_although_the_index_scan_is_in_degrees(db):

    here = Point(139.41, 35.49, srid=4326)

    def at(name: str, lon: float, lat: float) -> Shelter:
        return Shelter.objects.create(
            name=name, address="座間市", point=Point(lon, lat, srid=4326), capacity=100
        )

    # 0.0040° of longitude is ~363 m here, 0.0035° of latitude ~388 m: farther in degrees,
    # nearer on the ground.
    east = at("東", 139.4140, 35.49)
    north = at("北", 139.41, 35.4935)
    at("遠く", 139.50, 35.55)

    nearest = list(Shelter.objects.nearest(here))

    assert nearest[:2] == [east, north]
    assert round(nearest[0].distance.m) in range(355, 370)
    assert list(Shelter.objects.nearest(here, candidates=1)) == [north]  # the KNN cut alone
