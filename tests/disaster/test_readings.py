"""Shelters and districts carry a reading and a romanised (Hepburn) name: from the open data
when it has them, else made from the name and marked as made until an administrator checks
them."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from disaster.core import readings
from disaster.core.geography import District
from shelters.models import Shelter

pytestmark = pytest.mark.django_db

BOX = MultiPolygon(
    Polygon(((139.40, 35.48), (139.41, 35.48), (139.41, 35.49), (139.40, 35.49), (139.40, 35.48))),
    srid=4326,
)


@pytest.mark.parametrize(
    ("name", "hepburn"),
    [
        ("栗原中央５丁目", "Kurihara Chuo 5 Chome"),  # long vowels left out, as on signs
        ("東中学校", "Higashi Chugakko"),  # 東 + 中学校, not "Higashinaka Gakko"
        ("四ツ谷", "Yotsuya"),
        ("相模が丘１丁目", "Sagamigaoka 1 Chome"),
        ("新田宿・四ツ谷コミュニティセンター", "Nitta Yado/Yotsuya Community Center"),
    ],
)
def test_names_are_romanised_in_the_hepburn_of_road_signs(name, hepburn):
    assert readings.romanised(name) == hepburn


def test_a_reading_given_by_the_open_data_decides_the_letters():
    # UniDic reads 相武台 "Aibudai"; the city's own kana says Sobudai.
    assert readings.romanised("相武台", "ソウブダイ") == "Sobudai"


def test_a_district_without_readings_gets_them_made_and_marked_until_checked():
    district = District.objects.create(name="栗原中央５丁目", area=BOX)

    district.refresh_from_db()
    assert district.kana == "クリハラチュウオウ5チョウメ"
    assert district.name_en == "Kurihara Chuo 5 Chome"
    assert district.readings_generated_from == "栗原中央５丁目"


def test_renaming_makes_generated_readings_again_but_keeps_checked_ones():
    made = District.objects.create(name="栗原", area=BOX)
    checked = District.objects.create(
        name="相武台", kana="ソウブダイ", name_en="Sobudai", area=BOX.clone()
    )

    made.name, checked.name = "座間", "相武台１丁目"
    made.save(update_fields=["name"])
    checked.save(update_fields=["name"])

    made.refresh_from_db()
    checked.refresh_from_db()
    assert (made.kana, made.name_en) == ("ザマ", "Zama")
    assert (checked.kana, checked.name_en, checked.readings_generated_from) == (
        "ソウブダイ",
        "Sobudai",
        "",
    )


def test_an_administrator_marks_a_made_reading_as_checked(client, admin_user):
    shelter = Shelter.objects.create(
        name="相武台東小学校", address="座間市相武台", point=Point(139.40, 35.49, srid=4326)
    )
    assert shelter.name_en == "Aibu Taito Shogakko"  # the dictionary's guess

    client.force_login(admin_user)
    response = client.post(
        "/admin/shelters/shelter/",
        {"action": "mark_readings_checked", "_selected_action": [shelter.pk]},
    )
    shelter.refresh_from_db()

    assert response.status_code == 302
    assert shelter.readings_generated_from == ""
    assert shelter.name_en == "Aibu Taito Shogakko"
