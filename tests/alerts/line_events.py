"""LINE webhook events for the tests, built from LINE's own sample payload in shared/data,
and posted signed as LINE does."""

from __future__ import annotations

import json
import uuid

from django.conf import settings

from tests.alerts.test_webhooks_signatures import post_line_body

USER = "U206d25c2ea6bd87c17655609a1c37cb8"  # the user id in LINE's sample payload
SAMPLE = json.loads((settings.SHARED_DATA_DIR / "line" / "webhook-events-sample.json").read_text())
# LINE's samples all carry this one id; every real event has its own.
SAMPLE_EVENT_ID = "testwebhookeventid"


def post_line(client, events: list[dict]):
    """POST events to the webhook, signed with the fake's secret. An event still carrying
    the samples' shared id gets an id of its own, as every real event has."""
    events = [
        {**e, "webhookEventId": uuid.uuid4().hex[:26].upper()}
        if e.get("webhookEventId") == SAMPLE_EVENT_ID
        else e
        for e in events
    ]
    body = json.dumps({"destination": "U123", "events": events}).encode()
    return post_line_body(client, body, "line-secret")


def sample(kind: str, **changes) -> dict:
    event = next(e for e in SAMPLE["events"] if e["type"] == kind)
    return {**event, **changes}


def sample_message(kind: str) -> dict:
    return next(
        e for e in SAMPLE["events"] if e["type"] == "message" and e["message"]["type"] == kind
    )


def image_event(message_id: str, **changes) -> dict:
    message = {"id": message_id, "type": "image", "contentProvider": {"type": "line"}}
    source = {"type": "user", "userId": USER}
    return {**sample_message("image"), "source": source, "message": message, **changes}


def location_event(latitude: float, longitude: float, address: str = "座間市役所前") -> dict:
    event = sample_message("location")
    place = {**event["message"], "latitude": latitude, "longitude": longitude, "address": address}
    return {**event, "message": place}


def text_event(text: str, user: str = USER) -> dict:
    event = SAMPLE["events"][0]  # a text message from a user
    return {
        **event,
        "source": {"type": "user", "userId": user},
        "message": {**event["message"], "text": text},
    }


def postback(data: str, user: str = USER) -> dict:
    return {
        **sample("postback"),
        "source": {"type": "user", "userId": user},
        "postback": {"data": data},
    }
