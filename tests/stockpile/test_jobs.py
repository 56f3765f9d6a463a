"""The periodic stock check: it announces shortages and expiring lots when they change."""

import datetime as dt

import pytest
from django.utils import timezone

from shelters.services import record_headcount
from stockpile.jobs import check_stock
from stockpile.services import receive_stock

pytestmark = pytest.mark.django_db


def test_a_shortage_is_announced_once_and_again_when_it_is_resolved(
    shelter, depot, water, published
):
    record_headcount(shelter.pk, total=100, by=None)
    receive_stock(depot=depot, item=water, quantity=150, expires_on=None, by=None)

    check_stock()
    check_stock()  # nothing changed: nothing new to say

    [first] = published("stock.shortages")
    assert first["shortages"] == [
        {
            "depot_id": depot.pk,
            "shelter_id": shelter.pk,
            "item_id": water.pk,
            "on_hand": 150,
            "days_of_supply": 0.5,  # 150 L ÷ (100 people × 3 L a day)
            "hours_until_empty": 12.0,
            "required_units": None,
        }
    ]

    receive_stock(depot=depot, item=water, quantity=900, expires_on=None, by=None)
    check_stock()

    assert published("stock.shortages")[-1]["shortages"] == []


def test_lots_about_to_expire_are_announced(depot, water, published):
    soon = timezone.localdate() + dt.timedelta(days=5)
    receive_stock(depot=depot, item=water, quantity=40, expires_on=soon, by=None)

    result = check_stock()

    assert result["expiring"] == 1
    [event] = published("stock.expiring")
    assert [(lot["expires_on"], lot["on_hand"]) for lot in event["lots"]] == [
        (soon.isoformat(), 40)
    ]
