"""Staff register residents who cannot register themselves (避難行動要支援者) with their
consent, find them by name or number, correct and remove them."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from alerts.models import Subscriber
from disaster.core.geography import District
from disaster.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def district(db) -> District:
    return District.objects.create(
        name="相模が丘", area=MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.43, 35.52)))
    )


def form(district: District, **changes) -> dict:
    return {
        "name": "小林 トメ",
        "phone": "090-1234-5678",
        "language": "ja",
        "districts": [district.pk],
        "latitude": "",
        "longitude": "",
        "needs_support": "on",
        "note": "12/1 民生委員の訪問時に本人が口頭で同意",
        "consent": "on",
        **changes,
    }


def test_a_resident_is_registered_with_consent_and_found_by_name_or_number(
    session_as, ops_user, district
):
    client = session_as(ops_user)

    response = client.post("/ops/residents/new/", form(district))

    assert response.status_code == 302
    person = Subscriber.objects.get()
    assert (person.name, person.phone, person.consent_method, person.registered_by) == (
        "小林 トメ",
        "+819012345678",
        Subscriber.ConsentMethod.STAFF,
        ops_user,
    )
    assert list(person.districts.all()) == [district]
    for typed in ("小林", "09012345678", "090-1234"):
        page = client.get("/ops/residents/", {"q": typed}).content.decode()
        assert f'data-subscriber="{person.pk}"' in page, typed
    assert (
        f'data-subscriber="{person.pk}"'
        not in client.get("/ops/residents/", {"q": "田中"}).content.decode()
    )


def test_without_consent_nobody_is_registered_and_the_page_says_so_at_the_box(
    session_as, ops_user, district
):
    data = form(district)
    del data["consent"]

    response = session_as(ops_user).post("/ops/residents/new/", data)

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_consent_error"' in page and "本人の同意がなければ登録できません。" in page
    assert not Subscriber.objects.exists()


def test_a_bad_number_and_a_number_already_registered_are_refused_at_the_number(
    session_as, ops_user, district
):
    client = session_as(ops_user)

    bad = client.post("/ops/residents/new/", form(district, phone="12345"))
    assert bad.status_code == 422
    assert 'id="id_phone_error"' in bad.content.decode()

    client.post("/ops/residents/new/", form(district))
    again = client.post("/ops/residents/new/", form(district, name="別の人"))
    assert again.status_code == 422
    assert "この電話番号はすでに登録されています。" in again.content.decode()
    assert Subscriber.objects.count() == 1


def test_neither_a_district_nor_a_home_is_refused_at_the_districts(session_as, ops_user, district):
    response = session_as(ops_user).post("/ops/residents/new/", form(district, districts=[]))

    assert response.status_code == 422
    assert 'id="districts_error"' in response.content.decode()


def test_a_registration_is_corrected_and_the_audit_names_the_fields_not_the_values(
    session_as, ops_user, district
):
    client = session_as(ops_user)
    client.post("/ops/residents/new/", form(district))
    person = Subscriber.objects.get()

    client.post(
        f"/ops/residents/{person.pk}/",
        form(district, phone="080-9999-0000", latitude="35.51", longitude="139.41"),
    )

    person.refresh_from_db()
    assert person.phone == "+818099990000"
    assert (round(person.home.y, 2), round(person.home.x, 2)) == (35.51, 139.41)
    entry = AuditEntry.objects.get(action="subscriber.update")
    assert set(entry.after["changed"]) == {"phone", "home"}
    assert "9999" not in str(entry.after)


def test_removing_needs_the_confirmation_and_deletes_the_resident(session_as, ops_user, district):
    client = session_as(ops_user)
    client.post("/ops/residents/new/", form(district))
    person = Subscriber.objects.get()

    client.post(f"/ops/residents/{person.pk}/remove")
    assert Subscriber.objects.filter(pk=person.pk).exists()

    client.post(f"/ops/residents/{person.pk}/remove", {"confirm": "yes"})
    assert not Subscriber.objects.filter(pk=person.pk).exists()
    assert AuditEntry.objects.filter(action="subscriber.remove", target_id=str(person.pk)).exists()


def test_shelter_managers_cannot_see_or_register_residents(session_as, manager_user, district):
    client = session_as(manager_user)

    assert client.get("/ops/residents/").status_code == 403
    assert client.post("/ops/residents/new/", form(district)).status_code == 403
    assert not Subscriber.objects.exists()
