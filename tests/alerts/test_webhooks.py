"""The LINE and Twilio webhooks end to end: signed requests in, subscribers and deliveries
changed, replies out through the fake LINE reply API."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from twilio.request_validator import RequestValidator

from alerts.delivery import fanout, rows
from alerts.models import Delivery, SafetyAnswer, Subscriber
from disaster.core.geography import District
from tests.alerts.delivery_helpers import city_alert, subscriber
from tests.alerts.line_events import SAMPLE, USER, post_line, sample

pytestmark = pytest.mark.django_db(transaction=True)


def post_twilio(client, path: str, params: dict, token: str = "token"):  # noqa: S107
    url = django_settings.PUBLIC_BASE_URL + path
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_lines_whole_sample_payload_is_acknowledged(client, fake_line):
    subscriber(line_user_id=USER)
    response = post_line(client, SAMPLE["events"])
    assert response.status_code == 200


def test_follow_creates_a_subscriber_and_replies_with_language_choices(client, fake_line):
    assert post_line(client, [sample("follow")]).status_code == 200
    created = Subscriber.objects.get(line_user_id=USER)
    assert created.consented_at is not None
    (reply,) = fake_line.replies
    assert reply["replyToken"] == sample("follow")["replyToken"]
    items = reply["messages"][0]["quickReply"]["items"]
    assert {i["action"]["data"] for i in items} >= {"lang=ja", "lang=en", "lang=vi"}


def test_unfollow_deletes_the_subscriber(client, fake_line):
    subscriber(line_user_id=USER)
    unfollow = {
        "type": "unfollow",
        "mode": "active",
        "timestamp": 1,
        "source": {"type": "user", "userId": USER},
        "webhookEventId": "x",
        "deliveryContext": {"isRedelivery": False},
    }
    assert post_line(client, [unfollow]).status_code == 200
    assert not Subscriber.objects.filter(line_user_id=USER).exists()


def test_postbacks_choose_language_and_district(client, fake_line):
    subscriber(line_user_id=USER)
    district = District.objects.create(
        name="本町", area=MultiPolygon(Polygon.from_bbox((139.3, 35.4, 139.4, 35.5)))
    )
    postback = sample("postback")
    post_line(client, [{**postback, "postback": {"data": "lang=vi"}}])
    post_line(client, [{**postback, "postback": {"data": f"district={district.pk}"}}])
    chosen = Subscriber.objects.get(line_user_id=USER)
    assert chosen.language == "vi"
    assert list(chosen.districts.all()) == [district]


def test_a_location_shared_when_the_settings_ask_for_it_sets_the_home_point(client, fake_line):
    subscriber(line_user_id=USER)
    location = next(
        e for e in SAMPLE["events"] if e["type"] == "message" and e["message"]["type"] == "location"
    )
    inside = {**location, "message": {**location["message"], "latitude": 35.49, "longitude": 139.4}}
    post_line(client, [{**sample("postback"), "postback": {"data": "lang=ja"}}])
    post_line(client, [inside])
    home = Subscriber.objects.get(line_user_id=USER).home
    assert (round(home.y, 5), round(home.x, 5)) == (35.49, 139.4)


def test_unknown_event_types_are_acknowledged_and_change_nothing(client, fake_line):
    subscriber(line_user_id=USER)
    strange = {**sample("follow"), "type": "somethingNew"}
    assert post_line(client, [strange]).status_code == 200
    assert Subscriber.objects.count() == 1 and not fake_line.replies


def test_a_safety_postback_is_counted_and_need_help_listed(
    client, fake_line, fake_twilio, api_as, ops_user, published
):
    person = subscriber(line_user_id=USER)
    alert = city_alert(("line",))
    alert.asks_safety = True
    alert.save()
    fanout.send(alert.pk)
    postback = {**sample("postback"), "postback": {"data": f"safety={alert.pk}:need_help"}}
    post_line(client, [postback])
    post_line(client, [postback])  # a replay changes nothing
    assert SafetyAnswer.objects.get(alert=alert, subscriber=person).answer == "need_help"
    counts = published("alert.safety_answers")[-1]["by_district"]
    assert sum(c.get("need_help", 0) for c in counts) == 1
    listed = api_as(ops_user).get(f"/api/v1/alerts/{alert.pk}/need-help").json()
    assert [row["subscriber_id"] for row in listed] == [person.pk]
    assert USER not in json.dumps(published("alert.safety_answers"))


def test_status_callbacks_move_forward_and_never_back(
    client, fake_line, fake_twilio, published, settings
):
    settings.ALERTS_PROGRESS_INTERVAL_S = 0  # every change published, to see each one
    subscriber(phone="+819033333333")
    alert = city_alert(("sms",))
    fanout.send(alert.pk)
    delivery = Delivery.objects.get(alert=alert)
    sid = delivery.provider_id
    for status in ("sent", "delivered", "sent", "delivered"):
        params = {"MessageSid": sid, "MessageStatus": status, "To": "+819033333333"}
        assert post_twilio(client, "/hooks/twilio/status", params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    progress = published("alert.delivery_progress")
    assert [p["delivered"] for p in progress[-2:]] == [0, 1]  # the map hears of it, once


def test_stop_by_sms_deletes_the_subscriber_and_answers_in_twiml(client, fake_twilio):
    subscriber(phone="+819044444444")
    params = {"From": "+819044444444", "Body": "停止", "MessageSid": "SM" + "2" * 32}
    response = post_twilio(client, "/hooks/twilio/sms", params)
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert b"<Message>" in response.content
    assert not Subscriber.objects.filter(phone="+819044444444").exists()


def test_a_callback_that_beats_our_own_record_of_the_sid_is_kept(client, fake_line, fake_twilio):
    person = subscriber(phone="+819055555555")
    alert = city_alert(("sms",))
    key = "0b5c3a5e-3d6f-4bd4-9a59-4c1f7c4b2a11"
    delivery = Delivery.objects.create(
        alert=alert, subscriber=person, channel="sms", status="sending", retry_key=key
    )
    params = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered"}
    assert post_twilio(client, f"/hooks/twilio/status?key={key}", params).status_code == 204
    rows.record([rows.Outcome([delivery.pk], "sent", "SM" + "5" * 32, 1, "")])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_id) == ("delivered", "SM" + "5" * 32)


def test_texting_join_then_the_code_subscribes_the_number(client, fake_twilio):
    number = "+819066666666"
    asked = post_twilio(client, "/hooks/twilio/sms", {"From": number, "Body": "登録"})
    assert asked.status_code == 200 and b"<Message>" in asked.content
    (sent,) = [m for m in fake_twilio.messages if m["to"] == number]
    code = re.search(r"\d{6}", sent["body"]).group()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    post_twilio(client, "/hooks/twilio/sms", {"From": number, "Body": wrong})
    assert not Subscriber.objects.filter(phone=number).exists()
    post_twilio(client, "/hooks/twilio/sms", {"From": number, "Body": code})
    subscribed = Subscriber.objects.get(phone=number)
    assert subscribed.consent_method == "sms" and subscribed.phone_confirmed_at is not None
