"""Who an alert reaches, on the real PostGIS: inside, outside, on the border, and each
subscriber once however many ways they match."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from alerts.delivery.targeting import recipient_counts, recipients
from alerts.models import Alert, Subscriber
from disaster.core.geography import District

pytestmark = pytest.mark.django_db

SQUARE = Polygon(
    ((139.40, 35.48), (139.42, 35.48), (139.42, 35.50), (139.40, 35.50), (139.40, 35.48))
)


def person(name: str, lon: float | None = None, lat: float | None = None, **extra) -> Subscriber:
    return Subscriber.objects.create(
        line_user_id=f"U{name}",
        home=Point(lon, lat, srid=4326) if lon is not None else None,
        consented_at=timezone.now(),
        consent_method="test",
        **extra,
    )


def alert_to(*, area=None, districts=(), whole_city=False) -> Alert:
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示",
        body_ja="避難してください",
        channels=["line", "sms"],
        whole_city=whole_city,
        area=MultiPolygon(area, srid=4326) if area else None,
    )
    alert.districts.set(districts)
    return alert


@pytest.fixture
def district() -> District:
    east = Polygon(
        ((139.42, 35.48), (139.44, 35.48), (139.44, 35.50), (139.42, 35.50), (139.42, 35.48))
    )
    return District.objects.create(name="東地区", area=MultiPolygon(east, srid=4326))


def selected(alert: Alert) -> set[str]:
    return set(recipients(alert).values_list("line_user_id", flat=True))


def test_a_home_inside_the_area_is_reached_and_one_outside_is_not():
    person("inside", 139.41, 35.49)
    person("outside", 139.45, 35.49)
    person("nowhere")

    assert selected(alert_to(area=SQUARE)) == {"Uinside"}


def test_a_home_exactly_on_the_border_counts_as_inside():
    person("edge", 139.42, 35.49)
    person("corner", 139.40, 35.48)

    assert selected(alert_to(area=SQUARE)) == {"Uedge", "Ucorner"}


def test_members_of_a_targeted_district_are_reached_wherever_their_home_is(district):
    member = person("member", 139.30, 35.30)
    member.districts.add(district)
    person("stranger", 139.30, 35.30)

    assert selected(alert_to(districts=[district])) == {"Umember"}


def test_someone_matching_by_district_and_by_area_is_selected_once(district):
    both = person("both", 139.41, 35.49)
    both.districts.add(district)
    other = District.objects.create(name="西地区", area=MultiPolygon(SQUARE, srid=4326))
    both.districts.add(other)

    alert = alert_to(area=SQUARE, districts=[district, other])

    assert list(recipients(alert).values_list("line_user_id", flat=True)) == ["Uboth"]
    assert recipient_counts(alert) == {"subscribers": 1, "line": 1, "sms": 0}


def test_the_whole_city_reaches_everyone():
    person("a", 139.41, 35.49)
    person("b")

    assert selected(alert_to(whole_city=True)) == {"Ua", "Ub"}


def test_a_home_inside_a_targeted_district_is_reached_without_having_chosen_it(district):
    person("lives_there", 139.43, 35.49)  # shared a location on LINE, picked no district
    person("on_its_border", 139.44, 35.49)
    person("next_door", 139.45, 35.49)

    assert selected(alert_to(districts=[district])) == {"Ulives_there", "Uon_its_border"}


def test_a_home_in_both_the_drawn_area_and_a_targeted_district_is_selected_once(district):
    person("shared_border", 139.42, 35.49)  # on the square's edge and the district's
    chose = person("chose_and_lives", 139.43, 35.49)
    chose.districts.add(district)

    alert = alert_to(area=SQUARE, districts=[district])

    assert sorted(recipients(alert).values_list("line_user_id", flat=True)) == [
        "Uchose_and_lives",
        "Ushared_border",
    ]


# A pentagon with slanted edges: a point on such an edge cannot lie exactly on it in floating
# point, and an exact test (ST_Intersects, ST_Covers) missed about one in four.
PENTAGON = [
    (139.400, 35.480),
    (139.431, 35.487),
    (139.437, 35.509),
    (139.412, 35.514),
    (139.396, 35.497),
]


def along(a: tuple[float, float], b: tuple[float, float], fraction: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction)


def test_homes_on_every_vertex_and_along_every_edge_of_a_slanted_area_are_inside():
    ring = [*PENTAGON, PENTAGON[0]]
    on_border = list(PENTAGON)
    for a, b in itertools.pairwise(ring):
        on_border += [along(a, b, k / 37) for k in range(1, 37)]
    for n, (lon, lat) in enumerate(on_border):
        person(f"border{n}", lon, lat)
    # Two metres outside the middle of each edge (perpendicular, in degrees): not inside.
    for n, (a, b) in enumerate(itertools.pairwise(ring)):
        (mx, my), (dx, dy) = along(a, b, 0.5), (b[0] - a[0], b[1] - a[1])
        length = (dx * dx + dy * dy) ** 0.5
        person(f"outside{n}", mx + dy / length * 2e-5, my - dx / length * 2e-5)

    reached = selected(alert_to(area=Polygon(ring)))

    assert reached == {f"Uborder{n}" for n in range(len(on_border))}
    assert len(on_border) == 5 + 5 * 36


@pytest.fixture
def east() -> District:
    square = Polygon.from_bbox((139.42, 35.48, 139.44, 35.50))
    return District.objects.create(name="東部", area=MultiPolygon(square, srid=4326))


def test_a_subscriber_known_only_by_district_is_reached_when_a_drawn_area_reaches_into_it(east):
    by_district = person("by_district")  # signed up by SMS: districts, no home point
    by_district.districts.add(east)
    lives_elsewhere = person("lives_elsewhere", 139.435, 35.495)  # chose it, lives outside
    lives_elsewhere.districts.add(east)

    # The area covers the district's western corner only.
    corner = Polygon.from_bbox((139.41, 35.47, 139.425, 35.485))

    assert selected(alert_to(area=corner)) == {"Uby_district"}


def test_an_area_that_only_shares_a_border_with_a_district_does_not_reach_into_it(east):
    by_district = person("by_district")
    by_district.districts.add(east)
    next_door = Polygon.from_bbox((139.40, 35.48, 139.42, 35.50))  # east edge on its west edge

    assert selected(alert_to(area=next_door)) == set()
    assert selected(alert_to(area=Polygon.from_bbox((139.30, 35.30, 139.31, 35.31)))) == set()
