"""The alert an SMS short link opens on the public map: its area and title, and the open
shelters in or near it for its hazard; never a draft, never anything about its recipients."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client
from django.utils import timezone

from alerts.models import Alert, Subscriber
from shelters.models import Shelter

pytestmark = pytest.mark.django_db

# A drawn flood area around (139.400, 35.490); shelters inside, beside and far from it.
AREA = MultiPolygon(Polygon.from_bbox((139.395, 35.485, 139.405, 35.495)), srid=4326)


def shelter(name: str, lon: float, lat: float, hazards: list[str], **extra) -> Shelter:
    return Shelter.objects.create(
        name=name,
        address=f"座間市 {name}",
        point=Point(lon, lat, srid=4326),
        capacity=300,
        status=extra.pop("status", Shelter.Status.OPEN),
        hazards=hazards,
        **extra,
    )


def flood_alert(status: str = Alert.Status.SENT) -> Alert:
    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        hazard="flood",
        title_ja="目久尻川 避難指示",
        title_en="Evacuate: Mekujiri river",
        body_ja="直ちに避難してください",
        area=AREA,
        channels=["sms"],
        status=status,
        approved_at=timezone.now(),
        sent_at=timezone.now() if status == Alert.Status.SENT else None,
    )


def test_the_area_title_and_the_safe_open_shelters_near_it_nearest_first():
    shelter("川沿いの小学校", 139.400, 35.490, ["flood"])  # inside the flooded area
    beside = shelter("高台の中学校", 139.408, 35.490, ["flood"])
    farther = shelter("丘の公民館", 139.415, 35.490, ["flood", "earthquake"])
    shelter("地震用の体育館", 139.407, 35.491, ["earthquake"])  # not for floods
    shelter("閉鎖中の集会所", 139.406, 35.490, ["flood"], status=Shelter.Status.CLOSED)
    shelter("遠くの高校", 139.500, 35.490, ["flood"])  # beyond 3 km
    Subscriber.objects.create(
        phone="+819012345678", language="ja", consent_method=Subscriber.ConsentMethod.STAFF
    )
    alert = flood_alert()

    response = Client().get(f"/api/v1/map/public/alerts/{alert.pk}")

    assert response.status_code == 200, response.content
    found = response.json()
    assert found["title"] == "目久尻川 避難指示" and found["level"] == 4
    assert found["in_force"] and not found["drill"]
    assert found["area"]["type"] == "MultiPolygon"
    assert [s["id"] for s in found["shelters"]] == [beside.pk, farther.pk]
    assert found["shelters"][0]["distance_m"] < found["shelters"][1]["distance_m"]
    text = json.dumps(found)
    assert "+819012345678" not in text and "occupancy" not in text and "capacity" not in text


def test_the_title_follows_the_visitors_language():
    alert = flood_alert()
    response = Client().get(f"/api/v1/map/public/alerts/{alert.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["title"] == "Evacuate: Mekujiri river"


@pytest.mark.parametrize("status", [Alert.Status.DRAFT, Alert.Status.CANCELLED])
def test_an_alert_never_approved_is_not_found(status):
    alert = flood_alert(status)
    assert Client().get(f"/api/v1/map/public/alerts/{alert.pk}").status_code == 404
    assert Client().get(f"/api/v1/map/public/alerts/{alert.pk + 1000}").status_code == 404


@pytest.mark.parametrize("status", [Alert.Status.APPROVED, Alert.Status.SENDING])
def test_an_alert_is_public_from_its_approval_while_it_is_being_sent(status):
    # A large fan-out takes minutes, and a stalled one longer: the first to get the SMS
    # open its link while the alert is still approved or sending.
    alert = flood_alert(status)
    assert Client().get(f"/api/v1/map/public/alerts/{alert.pk}").status_code == 200


def test_the_short_link_lands_on_the_map_which_asks_for_that_alert():
    alert = flood_alert()
    landing = Client().get(f"/a/{alert.pk}", follow=True)
    assert landing.redirect_chain[-1][0].endswith(f"/map/?alert={alert.pk}")
    assert f'data-alert-url="/api/v1/map/public/alerts/{alert.pk}"' in landing.content.decode()
    plain = Client().get("/map/?alert=x1").content.decode()
    assert 'data-alert-url=""' in plain
