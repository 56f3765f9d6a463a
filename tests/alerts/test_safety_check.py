"""The safety check (安否確認) end to end: the alert itself asks the question on both
channels, and the digit each recipient texts back is counted and listed for staff."""

from __future__ import annotations

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from alerts.delivery import fanout
from alerts.delivery.messages import fits_sms
from alerts.models import SafetyAnswer
from tests.alerts.delivery_helpers import city_alert, subscriber
from tests.alerts.line_events import post_line, postback, text_event

pytestmark = pytest.mark.django_db(transaction=True)

LINE_USER = "U" + "5" * 32
PHONE = "+819077777777"


def line_text(client, text: str):
    return post_line(client, [text_event(text, user=LINE_USER)])


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
    # The question is in the short form; the rest (here the title) only as far as it fits.
    assert "返信:1避難 2無事 3救助" in sms_message and fits_sms(sms_message)

    assert line_text(client, "3").status_code == 200
    assert sms_text(client, "1").status_code == 200

    answers = dict(SafetyAnswer.objects.values_list("subscriber_id", "answer"))
    assert answers == {on_line.pk: "need_help", by_sms.pk: "evacuated"}
    counts = published("alert.safety_answers")[-1]["by_district"]
    assert sum(c.get("need_help", 0) for c in counts) == 1
    assert sum(c.get("evacuated", 0) for c in counts) == 1
    listed = api_as(ops_user).get(f"/api/v1/alerts/{alert.pk}/need-help").json()
    assert [row["subscriber_id"] for row in listed] == [on_line.pk]


def line_postback(client, user_id: str, data: str):
    return post_line(client, [postback(data, user=user_id)])


def test_line_recipients_answer_with_one_tap_in_their_language(client, fake_line, fake_twilio):
    japanese = [subscriber(line_user_id=f"U{i:032x}") for i in range(2)]
    english = subscriber(line_user_id="U" + "e" * 32, language="en", phone=PHONE)
    alert = city_alert()
    alert.asks_safety = True
    alert.save()

    fanout.send(alert.pk)

    # A multicast names its recipients in a list, a push (one recipient) in a string.
    by_recipients = {
        tuple(sorted(b["to"] if isinstance(b["to"], list) else [b["to"]])): b
        for b in fake_line.bodies
    }
    multicast = by_recipients[tuple(sorted(s.line_user_id for s in japanese))]
    push = by_recipients[(english.line_user_id,)]
    buttons = {
        lang: [
            (item["action"]["type"], item["action"]["label"], item["action"]["data"])
            for item in body["messages"][0]["quickReply"]["items"]
        ]
        for lang, body in (("ja", multicast), ("en", push))
    }
    assert buttons["ja"] == [
        ("postback", "避難した", f"safety={alert.pk}:evacuated"),
        ("postback", "自宅で無事", f"safety={alert.pk}:safe_at_home"),
        ("postback", "助けが必要", f"safety={alert.pk}:need_help"),
    ]
    assert [label for _, label, _ in buttons["en"]] == ["Evacuated", "Safe at home", "Need help"]
    # The SMS has no buttons: its text asks for the digit, in the recipient's language.
    ((_, sms_message),) = fake_twilio.accepted()
    assert "Reply 1 evacuated 2 safe 3 help" in sms_message

    # The tap comes back as a postback and is counted as the answer.
    _, _, data = buttons["en"][2]
    assert line_postback(client, english.line_user_id, data).status_code == 200
    assert list(SafetyAnswer.objects.values_list("subscriber_id", "answer")) == [
        (english.pk, "need_help")
    ]


def test_an_alert_without_a_safety_check_has_no_buttons(fake_line):
    subscriber(line_user_id="U" + "f" * 32)
    fanout.send(city_alert(("line",)).pk)
    ((message,),) = [body["messages"] for body in fake_line.bodies]
    assert "quickReply" not in message
