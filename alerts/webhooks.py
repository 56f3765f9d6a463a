"""Provider webhooks: LINE events and Twilio status callbacks / inbound SMS.

Every request is verified before anything is read from it: LINE's X-Line-Signature
(Base64 HMAC-SHA256 of the raw body with the channel secret) and Twilio's
X-Twilio-Signature (checked by the twilio SDK's RequestValidator over the public URL and
the POST parameters). A forged request gets 403 and changes nothing.

The views are thin: what an event means is in alerts/line_bot.py and alerts/sms_bot.py,
what a status means for a Delivery in alerts/fanout.py.
"""

from __future__ import annotations

import json
import logging
import traceback

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from linebot.v3 import SignatureValidator
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from alerts import fanout, line_bot, line_reports, replies, residents, sms_bot
from disaster.errors import DomainError

log = logging.getLogger(__name__)


def line_signature_ok(body: bytes, signature: str) -> bool:
    secret = settings.LINE_CHANNEL_SECRET
    return bool(secret and signature) and SignatureValidator(secret).validate(
        body.decode("utf-8", "replace"), signature
    )


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


def forbidden() -> JsonResponse:
    return JsonResponse({"detail": "invalid signature"}, status=403)


@csrf_exempt
@require_POST
def line(request: HttpRequest) -> HttpResponse:
    """LINE webhook: follow, unfollow, message (text, location), postback; anything else is
    acknowledged and logged, so LINE never retries an event we cannot use."""
    body = request.body
    if not line_signature_ok(body, request.headers.get("X-Line-Signature", "")):
        return forbidden()
    try:
        events = json.loads(body)["events"]
        if not isinstance(events, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        log.warning("LINE webhook: a signed body that is not a LINE webhook was ignored")
        return JsonResponse({})
    for event in events:
        if not isinstance(event, dict):
            log.warning("LINE webhook: ignored a non-object event")
            continue
        try:
            photo = _photo_of(event)  # before the transaction: no transaction waits on LINE
            with transaction.atomic():
                answer = line_bot.handle_line_event(event, photo)
        except Exception as error:
            # One event that fails (rolled back) must not stop the others, nor make LINE
            # redeliver the batch for ever. Logged without its message, which may hold a
            # LINE user id (an integrity error names the key).
            where = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "LINE event %s failed: %s at %s:%s",
                event.get("type"),
                type(error).__name__,
                where.filename,
                where.lineno,
            )
            continue
        if answer and event.get("replyToken"):
            replies.reply(event["replyToken"], answer)
    return JsonResponse({})


def _photo_of(event: dict) -> bytes | DomainError | None:
    """The photo of an image message a resident sent from LINE, or why we have none (none
    needed: an event handled before, or a sender past the limit)."""
    content = event.get("message") or {}
    if event.get("type") != "message" or content.get("type") != "image":
        return None
    user_id = str((event.get("source") or {}).get("userId") or "")
    if line_bot.handled_before(event) or residents.flooding("line", user_id):
        return None
    if (content.get("contentProvider") or {}).get("type", "line") != "line":
        # Sent by another service from its own URL: we fetch nothing from elsewhere.
        return DomainError(_("LINE で撮った・選んだ写真を送ってください。"))
    try:
        return line_reports.fetch_photo(str(content.get("id", "")))
    except DomainError as error:
        return error


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio status callback: moves the Delivery forward (never back), idempotently."""
    if not twilio_signature_ok(request):
        return forbidden()
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if sid and status:
        error = request.POST.get("ErrorCode") or ""
        fanout.record_sms_status(sid, status, error, request.GET.get("key", ""))
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """Inbound SMS: subscribe, confirm, STOP/停止, safety answers; answered in TwiML."""
    if not twilio_signature_ok(request):
        return forbidden()
    with transaction.atomic():
        text = sms_bot.handle_sms(request.POST.get("From", ""), request.POST.get("Body", ""))
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return HttpResponse(str(twiml), content_type="application/xml")
