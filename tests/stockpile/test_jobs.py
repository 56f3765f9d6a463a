"""The periodic stock check: it announces shortages and expiring lots when they change."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from disaster.core.events import EVENT_KINDS
from disaster.core.models import Event
from shelters.services import record_headcount
from stockpile.jobs import check_stock
from stockpile.models import Depot, Item
from stockpile.services import receive_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def drinking_water(db) -> Item:
    return Item.objects.create(
        code="drinking-water",
        category=Item.Category.WATER,
        name_ja="飲料水",
        name_en="Drinking water",
        unit_ja="L",
        unit_en="L",
        norm_per_person_day=3,
        shelf_life_days=1825,
    )


@pytest.fixture
def shelter_depot(shelter) -> Depot:
    return Depot.objects.create(name="倉庫", point=Point(139.416, 35.512), shelter=shelter)


def published(kind: str) -> list[dict]:
    return list(Event.objects.filter(kind=kind).order_by("id").values_list("payload", flat=True))


def test_a_shortage_is_announced_once_and_again_when_it_is_resolved(
    shelter, shelter_depot, drinking_water
):
    record_headcount(shelter.pk, total=100, by=None)
    receive_stock(depot=shelter_depot, item=drinking_water, quantity=150, expires_on=None, by=None)

    check_stock()
    check_stock()  # nothing changed: nothing new to say

    [first] = published("stock.shortages")
    assert first["shortages"] == [
        {
            "depot_id": shelter_depot.pk,
            "shelter_id": shelter.pk,
            "item_id": drinking_water.pk,
            "on_hand": 150,
            "days_of_supply": 0.5,  # 150 L ÷ (100 people × 3 L a day)
            "hours_until_empty": 12.0,
            "required_units": None,
        }
    ]
    EVENT_KINDS["stock.shortages"].model_validate(first)

    receive_stock(depot=shelter_depot, item=drinking_water, quantity=900, expires_on=None, by=None)
    check_stock()

    assert published("stock.shortages")[-1]["shortages"] == []


def test_lots_about_to_expire_are_announced(shelter_depot, drinking_water):
    soon = timezone.localdate() + dt.timedelta(days=5)
    receive_stock(depot=shelter_depot, item=drinking_water, quantity=40, expires_on=soon, by=None)

    result = check_stock()

    assert result["expiring"] == 1
    [event] = published("stock.expiring")
    assert [(lot["expires_on"], lot["on_hand"]) for lot in event["lots"]] == [
        (soon.isoformat(), 40)
    ]
