"""Stockpile fixtures: a small catalogue (water, rice, toilets), the two test shelters'
depots and a central warehouse, and a way to put stock on their shelves through the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from disaster.core.models import User
from shelters.models import Shelter
from stockpile import services
from stockpile.models import Depot, Item, Lot, Movement


def in_days(days: int | None) -> dt.date | None:
    """The date `days` from today (Asia/Tokyo), or None for stock that does not expire."""
    return None if days is None else timezone.localdate() + dt.timedelta(days=days)


@pytest.fixture
def water(db) -> Item:
    return Item.objects.create(
        code="water",
        category=Item.Category.WATER,
        name_ja="飲料水（長期保存）",
        name_en="Drinking water (long-life)",
        unit_ja="L",
        unit_en="L",
        norm_per_person_day=Decimal("3"),
        norm_source="内閣府: 1人1日3リットル",
        shelf_life_days=1825,
    )


@pytest.fixture
def rice(db) -> Item:
    return Item.objects.create(
        code="alpha-rice",
        category=Item.Category.FOOD,
        name_ja="アルファ化米",
        name_en="Instant rice",
        unit_ja="食",
        unit_en="meals",
        norm_per_person_day=Decimal("2"),
        shelf_life_days=1825,
    )


@pytest.fixture
def toilets(db) -> Item:
    return Item.objects.create(
        code="toilet-units",
        category=Item.Category.TOILET,
        name_ja="組立式仮設トイレ",
        name_en="Assembly toilet units",
        unit_ja="基",
        unit_en="units",
        people_per_unit=50,
        people_per_unit_long_term=20,
    )


@pytest.fixture
def depot(shelter: Shelter) -> Depot:
    """The warehouse of `shelter` (the one `manager_user` runs)."""
    return Depot.objects.create(name="相模が丘小 備蓄倉庫", point=shelter.point, shelter=shelter)


@pytest.fixture
def other_depot(other_shelter: Shelter) -> Depot:
    """The warehouse of `other_shelter`, about 2.8 km from `depot`."""
    return Depot.objects.create(
        name="栗原小 備蓄倉庫", point=other_shelter.point, shelter=other_shelter
    )


@pytest.fixture
def central_depot(db) -> Depot:
    """The city's central warehouse (no shelter), about 7 km from `depot`."""
    return Depot.objects.create(
        name="座間市中央備蓄倉庫", point=Point(139.3900, 35.4550, srid=4326)
    )


@pytest.fixture
def stock_in(ops_user: User):
    """stock_in(depot, item, quantity, days=None, source=…) puts stock on a depot's shelves
    through the ledger, expiring `days` from today (None: never)."""

    def receive(
        depot: Depot,
        item: Item,
        quantity: int,
        days: int | None = None,
        source: str = Lot.Source.PROCURED,
    ) -> services.Posting:
        return services.receive_stock(
            depot=depot,
            item=item,
            quantity=quantity,
            expires_on=in_days(days),
            source=source,
            by=ops_user,
        )

    return receive


@pytest.fixture
def found_expired(ops_user: User):
    """found_expired(depot, item, quantity, days_ago) records, through a count (棚卸), a lot
    that expired `days_ago` days ago: a receipt of expired stock is refused, but a count may
    find some on the shelf."""

    def count(depot: Depot, item: Item, quantity: int, days_ago: int = 1) -> services.Posting:
        return services.count_stock(
            depot=depot,
            item=item,
            expires_on=in_days(-days_ago),
            counted=quantity,
            reason=Movement.Reason.FOUND,
            by=ops_user,
        )

    return count
