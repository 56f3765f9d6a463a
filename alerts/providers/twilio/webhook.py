"""Twilio's webhooks (`/hooks/twilio/…`): status callbacks and inbound SMS. Every request
is verified before anything is read from it (X-Twilio-Signature, checked by the twilio
SDK's RequestValidator over the public URL and the POST parameters); a forged request gets
403 and changes nothing. What an SMS means is in `alerts.residents.sms_bot`, what a status
means for a Delivery in `alerts.providers.twilio.status`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from alerts.providers.twilio.status import record_sms_status
from alerts.residents import sms_bot
from disaster.core.errors import signature_refused


def public_url(request: HttpRequest) -> str:
    """The URL Twilio called (and signed): our public base when set, since behind a proxy
    the request's own host and scheme are not what Twilio saw."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


def twilio_signature_ok(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = {key: request.POST.get(key) for key in request.POST}
    return RequestValidator(token).validate(public_url(request), params, signature)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio status callback: moves the Delivery forward (never back), idempotently."""
    if not twilio_signature_ok(request):
        return signature_refused()
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if sid and status:
        error = request.POST.get("ErrorCode") or ""
        record_sms_status(sid, status, error, request.GET.get("key", ""))
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """Inbound SMS: subscribe, confirm, STOP/停止, safety answers; answered in TwiML."""
    if not twilio_signature_ok(request):
        return signature_refused()
    with transaction.atomic():
        text = sms_bot.handle_sms(request.POST.get("From", ""), request.POST.get("Body", ""))
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return HttpResponse(str(twiml), content_type="application/xml")
