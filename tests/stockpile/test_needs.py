"""Days of supply from what people actually need: everyone × the per-person norm (food and
water also for the people fed while sleeping at home or in cars) plus each group the
head-count counts × its own norm. Checked against a table worked out by hand."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from django.conf import settings

from shelters.services import record_headcount
from stockpile import coverage
from stockpile.catalogue import GROUP_NORMS, load_catalogue
from stockpile.models import Item, NeedGroup

HEAD_COUNT = {
    "total": 200,
    "women": 100,
    "infants": 10,
    "elderly": 50,
    "care_needed": 4,
    "pets": 6,
    "supported_at_home": 30,
    "supported_in_cars": 20,
}

# item: (on hand, need a day, days of supply, status), worked out by hand:
HAND_CHECKED = {
    "water": (1500, 750, 2.0, "short"),  # (200 + 30 + 20) × 3 L
    "alpha-rice": (1500, 500, 3.0, "low"),  # (200 + 50) × 2 meals
    "formula": (120, 60, 2.0, "short"),  # 10 infants × 6
    "diapers-child": (250, 100, 2.5, "short"),  # 10 infants × 10
    "diapers-adult": (60, 20, 3.0, "low"),  # 4 people needing care × 5
    "sanitary": (300, 150, 2.0, "short"),  # 100 women × 1.5
    "porridge": (900, 150, 6.0, "ok"),  # 50 elderly × 3
    "pet-food": (40, 6, 6.67, "ok"),  # 6 pets × 1
    "toilet-bags": (4000, 1000, 4.0, "low"),  # 200 × 5: not for people sleeping elsewhere
    "masks": (100, None, None, "unrated"),  # no norm
}
COLUMNS = {
    NeedGroup.INFANTS: ("infantsMale", "infantsFemale"),
    NeedGroup.ELDERLY: ("agedMale", "agedFemale"),
    NeedGroup.PETS: ("pet",),
}


@pytest.fixture
def catalogue(db) -> dict[str, Item]:
    load_catalogue()
    return {item.code: item for item in Item.objects.all()}


@pytest.mark.django_db
def test_days_of_supply_follow_the_head_count_s_needs_as_worked_out_by_hand(
    catalogue, depot, shelter, stock_in, ops_user
):
    record_headcount(shelter.pk, by=ops_user, **HEAD_COUNT)
    for code, (on_hand, *_rest) in HAND_CHECKED.items():
        stock_in(depot, catalogue[code], on_hand)

    found = {
        level.item.code: (
            level.on_hand,
            level.need_per_day,
            level.days_of_supply,
            level.status,
        )
        for level in coverage.levels(depots=[depot], items=[catalogue[c] for c in HAND_CHECKED])
    }

    assert found == HAND_CHECKED


@pytest.mark.django_db
def test_an_item_for_a_group_nobody_in_the_shelter_belongs_to_is_not_short(
    catalogue, depot, shelter, ops_user
):
    record_headcount(shelter.pk, by=ops_user, total=80)  # no infants counted

    (formula,) = coverage.levels(depots=[depot], items=[catalogue["formula"]], include_empty=True)

    assert (formula.need_per_day, formula.days_of_supply, formula.status) == (0, None, "unrated")
    assert all(level.item.code != "formula" for level in coverage.shortages())


@pytest.mark.django_db
def test_an_empty_shelf_of_infant_milk_is_a_shortage_where_infants_are_counted(
    catalogue, depot, shelter, ops_user
):
    record_headcount(shelter.pk, by=ops_user, total=80, infants=3)

    short = [(lv.item.code, lv.need_per_day) for lv in coverage.shortages()]

    assert ("formula", 18.0) in short
    assert ("diapers-child", 30.0) in short


@pytest.mark.django_db
def test_the_city_adds_up_every_shelter_s_people(
    catalogue, depot, other_depot, shelter, other_shelter, stock_in, ops_user
):
    record_headcount(shelter.pk, by=ops_user, total=100, women=40, supported_in_cars=20)
    record_headcount(other_shelter.pk, by=ops_user, total=50, women=40, supported_at_home=30)
    stock_in(depot, catalogue["water"], 600)
    stock_in(other_depot, catalogue["sanitary"], 240)

    city = {line.item.code: line for line in coverage.city()}

    assert city["water"].days_of_supply == round(600 / ((150 + 50) * 3), 2)  # 1.0
    assert city["sanitary"].days_of_supply == 2.0  # 240 ÷ (80 women × 1.5)
    assert city["water"].evacuees == 150


def test_the_norms_taken_from_the_bichiku_navi_list_are_its_numbers():
    path = settings.SHARED_DATA_DIR / "bichiku-navi-echizen-stockpile-list.csv"
    with open(path, encoding="utf-8-sig") as source:
        rows = {int(row["id"]): row for row in csv.DictReader(source)}

    checked = 0
    for code, group, per_day, row, source in GROUP_NORMS:
        if row is None:
            assert source.startswith("仮定"), code  # said to be an assumption
            continue
        for column in COLUMNS[group]:
            assert Decimal(rows[row][column]) == Decimal(per_day), (code, column)
        assert f"No.{row}" in source
        checked += 1
    assert checked == 4
    assert Decimal(rows[1]["adultMale"]) == 3  # water, as the per-person norm
    assert Decimal(rows[39]["adultMale"]) == 5  # portable toilets
