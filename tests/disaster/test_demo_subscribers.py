"""The demo city's residents: a few in every district, all clearly fictitious, so that a
newcomer's first alert reaches people."""

from __future__ import annotations

import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from alerts.delivery.targeting import recipient_counts
from alerts.models import Alert, Subscriber
from alerts.phones import to_e164
from disaster.core.geography import District
from disaster.demo import DEMO_PER_DISTRICT, demo_subscribers

pytestmark = pytest.mark.django_db


@pytest.fixture
def districts(db) -> list[District]:
    return [
        District.objects.create(name=name, area=MultiPolygon(Polygon.from_bbox(box)))
        for name, box in (
            ("相模が丘", (139.40, 35.50, 139.43, 35.52)),
            ("栗原", (139.39, 35.48, 139.41, 35.50)),
        )
    ]


def test_every_district_gets_residents_with_fictitious_numbers_and_line_ids(districts, ops_user):
    demo_subscribers(ops_user)

    people = Subscriber.objects.all()
    assert people.count() == DEMO_PER_DISTRICT * len(districts)
    for district in districts:
        assert district.subscribers.exists()
    for person in people:
        assert person.phone or person.line_user_id
        if person.phone:
            # 090-0000-xxxx, a block no carrier gives out, and a valid number all the same.
            assert re.fullmatch(r"\+8190000\d{5}", person.phone)
            assert to_e164("0" + person.phone[3:]) == person.phone
        if person.line_user_id:
            assert person.line_user_id.startswith("Udemo")
        if person.home:
            assert person.districts.get().area.contains(person.home)


def test_loading_twice_adds_nobody(districts, ops_user):
    demo_subscribers(ops_user)
    first = list(Subscriber.objects.order_by("pk").values_list("pk", "phone", "line_user_id"))

    demo_subscribers(ops_user)

    assert (
        list(Subscriber.objects.order_by("pk").values_list("pk", "phone", "line_user_id")) == first
    )


def test_a_first_alert_to_the_whole_city_reaches_them(districts, ops_user):
    demo_subscribers(ops_user)
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_3,
        title_ja="訓練",
        body_ja="訓練",
        whole_city=True,
        channels=["line", "sms"],
    )

    counts = recipient_counts(alert)

    assert counts["subscribers"] == DEMO_PER_DISTRICT * len(districts)
