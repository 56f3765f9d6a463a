"""Residents' own API: signing up for alerts by SMS (public, as the sign-up form is)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from alerts.models import Language
from alerts.residents import subscriptions
from disaster.core.clients import client_key, request_client
from disaster.core.limits import ClientLimit

router = Router(tags=["residents"])


class SmsSubscribeIn(Schema):
    phone: str = Field(max_length=32, examples=["090-1234-5678"])
    language: Language = Language.JAPANESE


class SmsConfirmIn(Schema):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=12)
    district_ids: list[int] = Field(default_factory=list, max_length=50)


class Subscribed(Schema):
    subscribed: bool


@router.post(
    "/subscriptions/sms",
    response={202: Subscribed},
    auth=None,
    throttle=ClientLimit("POST", "/api/v1/subscriptions/sms", subscriptions.client_wait),
)
def subscribe_by_sms(request: HttpRequest, data: SmsSubscribeIn):
    """A resident asks for alerts by SMS: a one-time code goes to the number. Public (it
    is how residents sign up); answers alike whether or not the number is subscribed or
    was sent a code a moment ago. Numbers of the city's country only
    (SMS_ALLOWED_COUNTRY_CODES); a client may ask SMS_CODES_PER_CLIENT_PER_HOUR times an
    hour, a number gets SMS_CODES_PER_NUMBER_PER_DAY codes a day, all together
    SMS_CODES_PER_HOUR an hour (429 with Retry-After)."""
    number = subscriptions.sign_up_number(data.phone)  # a typo is not counted against anyone
    subscriptions.count_client_request(client_key(request_client(request)))
    subscriptions.request_sms_code(number, data.language)
    return Status(202, {"subscribed": False})


@router.post("/subscriptions/sms/confirm", response={201: Subscribed}, auth=None)
def confirm_sms_subscription(request: HttpRequest, data: SmsConfirmIn):
    """The code from the SMS confirms the number: from now on it receives alerts."""
    subscriptions.confirm_sms_code(data.phone, data.code, data.district_ids)
    return Status(201, {"subscribed": True})
