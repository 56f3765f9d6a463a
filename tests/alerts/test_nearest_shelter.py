"""Each message names the nearest suitable open shelter for the recipient's district: on
LINE always, in an SMS when it still fits one message; chosen once per alert, so a resumed
fan-out sends the same words and nothing twice."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from alerts.delivery import fanout
from alerts.delivery.messages import message_text, sms_segments
from alerts.models import Alert, Subscriber
from disaster.core.geography import District
from shelters.models import Shelter

pytestmark = pytest.mark.django_db(transaction=True)

EAST_BOX = (139.40, 35.49, 139.41, 35.50)
WEST_BOX = (139.38, 35.49, 139.39, 35.50)


def district(name: str, box: tuple[float, ...]) -> District:
    return District.objects.create(name=name, area=MultiPolygon(Polygon.from_bbox(box)))


def shelter(name: str, lon: float, lat: float, hazards: list[str], **extra) -> Shelter:
    return Shelter.objects.create(
        name=name,
        name_en=extra.pop("name_en", ""),
        address=f"座間市 {name}",
        point=Point(lon, lat, srid=4326),
        capacity=300,
        status=extra.pop("status", Shelter.Status.OPEN),
        hazards=hazards,
    )


def resident(lon: float, lat: float, line: str = "", phone: str = "", language: str = "ja"):
    return Subscriber.objects.create(
        home=Point(lon, lat, srid=4326),
        line_user_id=line or None,
        phone=phone or None,
        phone_confirmed_at=timezone.now() if phone else None,
        language=language,
        consent_method=Subscriber.ConsentMethod.STAFF,
    )


def alert_for(districts: list[District], hazard: str, **extra) -> Alert:
    alert = Alert.objects.create(
        kind=extra.pop("kind", Alert.Kind.EVACUATION_4),
        hazard=hazard,
        title_ja="避難指示",
        body_ja="直ちに避難してください",
        channels=extra.pop("channels", ["line", "sms"]),
        status=Alert.Status.APPROVED,
        approved_at=timezone.now(),
    )
    alert.districts.set(districts)
    return alert


@pytest.fixture
def town(db):
    east, west = district("東地区", EAST_BOX), district("西地区", WEST_BOX)
    return {
        "east": east,
        "west": west,
        "east_school": shelter("東小学校", 139.405, 35.495, ["earthquake"], name_en="Higashi ES"),
        "west_school": shelter("西中学校", 139.385, 35.495, ["earthquake", "flood"]),
        # Nearer to the east homes, but closed, or not for earthquakes: never proposed.
        "closed": shelter(
            "閉鎖中の会館", 139.401, 35.491, ["earthquake"], status=Shelter.Status.CLOSED
        ),
        "flood_only": shelter("東の高台", 139.4012, 35.4912, ["flood"]),
    }


def test_line_and_sms_name_the_nearest_open_shelter_of_each_district(fake_line, fake_twilio, town):
    east = [resident(139.401, 35.491, line=f"U{i:032x}") for i in range(2)]
    east_en = resident(139.402, 35.492, line="U" + "e" * 32, language="en")
    west = resident(139.381, 35.491, line="U" + "f" * 32)
    by_sms = resident(139.402, 35.493, phone="+819012340000")
    alert = alert_for([town["east"], town["west"]], "earthquake")

    fanout.send(alert.pk)

    texts = {user: text for user, text in fake_line.accepted()}
    for person in east:
        assert "最寄りの開設中の避難所: 東小学校" in texts[person.line_user_id]
    assert "Nearest open shelter: Higashi ES (東小学校)" in texts[east_en.line_user_id]
    assert "最寄りの開設中の避難所: 西中学校" in texts[west.line_user_id]
    # One multicast per distinct text: east in Japanese (2), east in English, west.
    assert sorted(fake_line.batches) == [1, 1, 2] and len(fake_line.retry_keys) == 3
    ((number, sms),) = fake_twilio.accepted()
    assert number == by_sms.phone
    assert " 避難所:東小学校" in sms and f"/a/{alert.pk}" in sms and sms_segments(sms) <= 3
    assert all(n == 1 for n in fake_line.accepted().values())


def test_a_flood_order_never_sends_people_to_a_shelter_inside_the_flooded_area(fake_line, town):
    # 東の高台 lies inside the east district the order is for: residents must leave it.
    resident(139.401, 35.491, line="U" + "1" * 32)
    alert = alert_for([town["east"]], "flood", channels=["line"])

    fanout.send(alert.pk)

    ((_, text),) = fake_line.accepted()
    assert "最寄りの開設中の避難所: 西中学校" in text and "東の高台" not in text


def test_level_5_and_information_messages_propose_no_shelter(fake_line, town):
    resident(139.401, 35.491, line="U" + "2" * 32)
    alert = alert_for([town["east"]], "earthquake", kind=Alert.Kind.EVACUATION_5)
    alert.channels = ["line"]
    alert.save()

    fanout.send(alert.pk)

    ((_, text),) = fake_line.accepted()
    assert "避難所:" not in text and "最寄り" not in text


def test_an_sms_that_the_shelter_would_overflow_keeps_only_the_short_link():
    alert = Alert(
        kind=Alert.Kind.EVACUATION_4, title_ja="土砂災害のおそれ 直ちに避難", is_drill=True
    )
    long_name = {"name": "座間市立相模が丘小学校体育館および第二校舎" * 7, "name_en": ""}

    text = message_text(
        alert, "ja", "sms", [District(name="相模が丘")], alert_id=12345, shelter=long_name
    )

    assert text.endswith("/a/12345 土砂災害のおそれ 直ちに避難") and "体育館" not in text
    assert sms_segments(text) <= 3


def test_a_resumed_fan_out_sends_the_words_of_its_first_run_and_nothing_twice(
    fake_twilio, town, settings
):
    settings.ALERTS_SEND_ATTEMPTS = 1
    person = resident(139.402, 35.493, phone="+819012340001")
    alert = alert_for([town["east"]], "earthquake", channels=["sms"])
    fake_twilio.faults.plan("lost")  # accepted, the answer lost: the run cannot know

    with pytest.raises(fanout.Unfinished):
        fanout.send(alert.pk)
    # Meanwhile a nearer shelter opens; the restarted job must still say what it said.
    shelter("新しい集会所", 139.4021, 35.4931, ["earthquake"])
    fanout.send(alert.pk)

    assert fake_twilio.accepted() == Counter({(person.phone, fake_twilio.messages[0]["body"]): 1})
    assert " 避難所:東小学校" in fake_twilio.messages[0]["body"]
    alert.refresh_from_db()
    assert alert.status == "sent"
    assert alert.nearest_shelters == {
        str(town["east"].pk): {"name": "東小学校", "name_en": "Higashi ES"}
    }
