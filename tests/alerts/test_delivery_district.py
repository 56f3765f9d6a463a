"""Each delivery keeps the district its recipient had when the alert went out: progress and
safety answers are counted by it, and a resident who moves later leaves the figures alone."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from alerts.delivery.progress import progress_counts
from alerts.delivery.rows import create_deliveries, fallback_to_sms
from alerts.delivery.safety import counts as safety_counts
from alerts.models import Alert, Delivery, SafetyAnswer, Subscriber
from disaster.core.geography import District

pytestmark = pytest.mark.django_db


def square(name: str, west: float) -> District:
    area = Polygon.from_bbox((west, 35.48, west + 0.02, 35.50))
    return District.objects.create(name=name, area=MultiPolygon(area, srid=4326))


@pytest.fixture
def west() -> District:
    return square("西", 139.40)


@pytest.fixture
def east() -> District:
    return square("東", 139.42)


def person(name: str, home: tuple[float, float] | None, *chosen: District) -> Subscriber:
    someone = Subscriber.objects.create(
        line_user_id=f"U{name}",
        phone=f"+8190000000{len(name):02d}",
        phone_confirmed_at=timezone.now(),
        home=Point(*home, srid=4326) if home else None,
        consented_at=timezone.now(),
        consent_method="test",
    )
    someone.districts.set(chosen)
    return someone


def whole_city_alert() -> Alert:
    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示",
        body_ja="避難してください",
        channels=["line", "sms"],
        whole_city=True,
        asks_safety=True,
    )


def districts_of(alert: Alert) -> dict[tuple[str, str], int | None]:
    rows = Delivery.objects.filter(alert=alert)
    return {
        (line_user_id, channel): district
        for line_user_id, channel, district in rows.values_list(
            "subscriber__line_user_id", "channel", "district_id"
        )
    }


def test_the_home_decides_the_district_else_the_first_chosen_else_none(west, east):
    person("home_in_west_chose_east", (139.41, 35.49), east)
    person("no_home_chose_both", None, east, west)
    person("nowhere", None)
    alert = whole_city_alert()

    create_deliveries(alert)

    first_chosen = min(west.pk, east.pk)
    assert districts_of(alert) == {
        ("Uhome_in_west_chose_east", "line"): west.pk,
        ("Uhome_in_west_chose_east", "sms"): west.pk,
        ("Uno_home_chose_both", "line"): first_chosen,
        ("Uno_home_chose_both", "sms"): first_chosen,
        ("Unowhere", "line"): None,
        ("Unowhere", "sms"): None,
    }


def test_an_sms_sent_when_line_failed_keeps_the_district_of_the_line_delivery(west):
    person("west", (139.41, 35.49))
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示",
        body_ja="避難してください",
        channels=["line"],
        whole_city=True,
    )
    create_deliveries(alert)
    Delivery.objects.filter(alert=alert).update(status=Delivery.Status.FAILED)

    assert fallback_to_sms(alert) == 1

    assert districts_of(alert) == {("Uwest", "line"): west.pk, ("Uwest", "sms"): west.pk}


def test_moving_house_after_the_alert_leaves_its_figures_where_they_were(west, east):
    mover = person("mover", (139.41, 35.49))
    alert = whole_city_alert()
    create_deliveries(alert)
    Delivery.objects.filter(alert=alert).update(status=Delivery.Status.DELIVERED)
    SafetyAnswer.objects.create(alert=alert, subscriber=mover, answer="evacuated")

    mover.home = Point(139.43, 35.49, srid=4326)  # now in the east
    mover.save()

    (counted,) = progress_counts(alert)["by_district"]
    assert (counted["district_id"], counted["delivered"]) == (west.pk, 2)
    (answers,) = safety_counts(alert)
    assert answers["district_id"] == west.pk


def test_an_answer_without_a_delivery_counts_where_the_answerer_lives(west, east):
    # An answer from someone whose delivery was removed (or never made, as in an import).
    someone = person("answerer", (139.43, 35.49))
    alert = whole_city_alert()
    SafetyAnswer.objects.create(alert=alert, subscriber=someone, answer="need_help")

    (answers,) = safety_counts(alert)
    assert answers["district_id"] == east.pk
