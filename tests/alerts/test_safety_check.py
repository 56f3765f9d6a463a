"""The safety check (安否確認) end to end: the alert itself asks the question on both
channels, and the digit each recipient texts back is counted and listed for staff."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from alerts import fanout
from alerts.models import SafetyAnswer
from tests.alerts.delivery_helpers import city_alert, subscriber
from tests.alerts.test_webhooks_signatures import post_line_body

pytestmark = pytest.mark.django_db(transaction=True)

LINE_USER = "U" + "5" * 32
PHONE = "+819077777777"


def line_text(client, text: str):
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1,
        "replyToken": "r" * 32,
        "source": {"type": "user", "userId": LINE_USER},
        "webhookEventId": "01H" + "0" * 23,
        "deliveryContext": {"isRedelivery": False},
        "message": {"type": "text", "id": "1", "text": text},
    }
    body = json.dumps({"destination": "U0", "events": [event]}).encode()
    return post_line_body(client, body, settings.LINE_CHANNEL_SECRET)


def sms_text(client, body: str):
    params = {"From": PHONE, "Body": body, "MessageSid": "SM" + "7" * 32}
    url = settings.PUBLIC_BASE_URL + "/hooks/twilio/sms"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    return client.post("/hooks/twilio/sms", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_the_alert_asks_and_the_digit_texted_back_is_counted_and_listed(
    client, fake_line, fake_twilio, api_as, ops_user, published
):
    on_line = subscriber(line_user_id=LINE_USER, language="en")
    by_sms = subscriber(phone=PHONE)
    alert = city_alert()
    alert.asks_safety = True
    alert.save()

    fanout.send(alert.pk)

    ((_, line_message),) = fake_line.accepted()
    assert "1 evacuated / 2 safe at home / 3 need help" in line_message
    ((_, sms_message),) = fake_twilio.accepted()
    assert "返信:1避難 2無事 3救助" in sms_message and len(sms_message) <= 70

    assert line_text(client, "3").status_code == 200
    assert sms_text(client, "1").status_code == 200

    answers = dict(SafetyAnswer.objects.values_list("subscriber_id", "answer"))
    assert answers == {on_line.pk: "need_help", by_sms.pk: "evacuated"}
    counts = published("alert.safety_answers")[-1]["by_district"]
    assert sum(c.get("need_help", 0) for c in counts) == 1
    assert sum(c.get("evacuated", 0) for c in counts) == 1
    listed = api_as(ops_user).get(f"/api/v1/alerts/{alert.pk}/need-help").json()
    assert [row["subscriber_id"] for row in listed] == [on_line.pk]
