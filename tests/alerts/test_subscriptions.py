"""SMS subscription with a one-time code, through the API and the fake Twilio."""

from __future__ import annotations

import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import Client

from alerts.delivery.targeting import recipients_of
from alerts.models import PhoneConfirmation, Subscriber
from disaster.core.geography import District

pytestmark = pytest.mark.django_db(transaction=True)


def fields(answer) -> list[str]:
    return [error["field"] for error in answer.json()["errors"]]


def code_sent_to(fake_twilio, number: str) -> str:
    (message,) = [m for m in fake_twilio.messages if m["to"] == number]
    return re.search(r"\d{6}", message["body"]).group()


def test_a_number_is_subscribed_once_its_code_comes_back(fake_twilio):
    client = Client()
    asked = client.post(
        "/api/v1/subscriptions/sms",
        {"phone": "090-1234-5678", "language": "vi"},
        content_type="application/json",
    )
    assert asked.status_code == 202
    assert not Subscriber.objects.exists()
    code = code_sent_to(fake_twilio, "+819012345678")
    confirmed = client.post(
        "/api/v1/subscriptions/sms/confirm",
        {"phone": "09012345678", "code": code},
        content_type="application/json",
    )
    assert confirmed.status_code == 201
    subscriber = Subscriber.objects.get(phone="+819012345678")
    assert subscriber.language == "vi" and subscriber.phone_confirmed_at is not None
    assert subscriber.consent_method == "sms"
    assert not PhoneConfirmation.objects.exists()


def test_a_wrong_code_is_refused_and_counted_until_the_limit(fake_twilio):
    client = Client()
    client.post(
        "/api/v1/subscriptions/sms", {"phone": "+819087654321"}, content_type="application/json"
    )
    right = code_sent_to(fake_twilio, "+819087654321")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        answer = client.post(
            "/api/v1/subscriptions/sms/confirm",
            {"phone": "+819087654321", "code": wrong},
            content_type="application/json",
        )
        assert answer.status_code == 422 and fields(answer) == ["code"]
    late = client.post(
        "/api/v1/subscriptions/sms/confirm",
        {"phone": "+819087654321", "code": right},
        content_type="application/json",
    )
    assert late.status_code == 422  # five wrong tries: even the right code needs a new one
    assert not Subscriber.objects.exists()


def test_a_malformed_number_is_a_field_error_and_sends_nothing(fake_twilio):
    answer = Client().post(
        "/api/v1/subscriptions/sms", {"phone": "12-34"}, content_type="application/json"
    )
    assert answer.status_code == 422 and fields(answer) == ["phone"]
    assert not fake_twilio.messages and not PhoneConfirmation.objects.exists()


def test_a_number_signed_up_with_a_district_is_reached_by_an_area_drawn_across_it(fake_twilio):
    district = District.objects.create(
        name="相模が丘", area=MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)))
    )
    client = Client()
    client.post(
        "/api/v1/subscriptions/sms", {"phone": "09011112222"}, content_type="application/json"
    )
    confirmed = client.post(
        "/api/v1/subscriptions/sms/confirm",
        {
            "phone": "09011112222",
            "code": code_sent_to(fake_twilio, "+819011112222"),
            "district_ids": [district.pk],
        },
        content_type="application/json",
    )
    assert confirmed.status_code == 201, confirmed.content
    subscriber = Subscriber.objects.get(phone="+819011112222")
    assert list(subscriber.districts.all()) == [district] and subscriber.home is None

    # A polygon drawn across the district's southern half: no home point to test, but
    # the area reaches into the district they gave.
    across = Polygon.from_bbox((139.41, 35.49, 139.43, 35.51))
    reached = recipients_of(whole_city=False, area=MultiPolygon(across, srid=4326))

    assert list(reached) == [subscriber]
