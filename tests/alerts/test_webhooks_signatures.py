"""Webhook signatures, checked with the providers' own published vectors and payloads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from alerts.providers.line.webhook import line_signature_ok
from alerts.providers.twilio.webhook import twilio_signature_ok

SHARED_DATA_DIR = django_settings.SHARED_DATA_DIR
LINE_VECTOR = json.loads((SHARED_DATA_DIR / "line" / "signature-vector.json").read_text())
TWILIO_VECTORS = json.loads((SHARED_DATA_DIR / "twilio" / "signature-vectors.json").read_text())
LINE_SAMPLE = (SHARED_DATA_DIR / "line" / "webhook-events-sample.json").read_bytes()


def line_sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_line_body(client, body: bytes, signed_with: str):
    """POST a raw body to the LINE webhook, signed as LINE does with `signed_with`."""
    return client.post(
        "/hooks/line/",
        body,
        content_type="application/json",
        HTTP_X_LINE_SIGNATURE=line_sign(body, signed_with),
    )


def test_the_line_vector_verifies_and_its_forgery_does_not(settings):
    settings.LINE_CHANNEL_SECRET = LINE_VECTOR["channel_secret"]
    body = LINE_VECTOR["body"].encode()
    assert line_signature_ok(body, LINE_VECTOR["valid_signature"])
    assert not line_signature_ok(body, LINE_VECTOR["invalid_signature"])
    assert not line_signature_ok(body + b" ", LINE_VECTOR["valid_signature"])


def test_no_channel_secret_verifies_nothing(settings):
    settings.LINE_CHANNEL_SECRET = ""
    assert not line_signature_ok(LINE_VECTOR["body"].encode(), LINE_VECTOR["valid_signature"])


def test_the_twilio_vector_verifies_through_our_request_check(settings):
    settings.TWILIO_AUTH_TOKEN = TWILIO_VECTORS["auth_token"]
    settings.ALLOWED_HOSTS = ["mycompany.com"]
    settings.PUBLIC_BASE_URL = "https://mycompany.com"  # where "Twilio" called us

    def request(signature: str):
        return RequestFactory().post(
            "/myapp.php?foo=1&bar=2",
            data=TWILIO_VECTORS["params"],
            HTTP_HOST="mycompany.com",
            HTTP_X_TWILIO_SIGNATURE=signature,
            secure=True,
        )

    assert twilio_signature_ok(request(TWILIO_VECTORS["valid_signature"]))
    assert not twilio_signature_ok(request("SSOYDt4T1cUTdK1PDd93/VVr8B8="))
    assert not twilio_signature_ok(request(""))


@pytest.mark.django_db
def test_a_forged_line_webhook_is_refused_with_403(client, settings):
    settings.LINE_CHANNEL_SECRET = "line-secret"
    assert post_line_body(client, LINE_SAMPLE, "another-secret").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"events": "none"}'])
def test_a_signed_line_body_that_is_not_a_webhook_is_acknowledged_and_logged(
    client, settings, caplog, body
):
    settings.LINE_CHANNEL_SECRET = "line-secret"
    # LINE retries what is not acknowledged; a body it will never send differently is
    # acknowledged, logged for us, and changes nothing.
    assert post_line_body(client, body, "line-secret").status_code == 200
    assert "not a LINE webhook" in caplog.text


@pytest.mark.django_db
def test_a_forged_twilio_status_callback_is_refused_with_403(client, settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    url = settings.PUBLIC_BASE_URL + "/hooks/twilio/status"
    forged = RequestValidator("wrong-token").compute_signature(url, params)
    response = client.post("/hooks/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=forged)
    assert response.status_code == 403
    unsigned = client.post("/hooks/twilio/status", params)
    assert unsigned.status_code == 403
