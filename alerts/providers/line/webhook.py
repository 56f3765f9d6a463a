"""LINE's webhook (`/hooks/line/`): every request is verified before anything is read from
it (X-Line-Signature, the Base64 HMAC-SHA256 of the raw body with the channel secret); a
forged request gets 403 and changes nothing. What an event means is in
`alerts.residents.line_bot`.
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

from alerts.providers.line.transport import Line
from alerts.residents import line_bot, line_reports
from alerts.residents import words as residents
from alerts.residents.replies import TEXT_MAX, Answer
from disaster.core.errors import DomainError, signature_refused

log = logging.getLogger(__name__)


def line_signature_ok(body: bytes, signature: str) -> bool:
    secret = settings.LINE_CHANNEL_SECRET
    return bool(secret and signature) and SignatureValidator(secret).validate(
        body.decode("utf-8", "replace"), signature
    )


@csrf_exempt
@require_POST
def line(request: HttpRequest) -> HttpResponse:
    """LINE webhook: follow, unfollow, message (text, location), postback; anything else is
    acknowledged and logged, so LINE never retries an event we cannot use."""
    body = request.body
    if not line_signature_ok(body, request.headers.get("X-Line-Signature", "")):
        return signature_refused()
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
            reply(event["replyToken"], answer)
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


def reply(reply_token: str, answer: Answer) -> None:
    """Send a webhook answer through LINE's reply API once the event's writes committed (a
    rolled-back event answers nothing)."""

    def send() -> None:
        try:
            Line().reply(reply_token, answer.text[:TEXT_MAX], answer.quick_reply())
        except Exception:  # a lost reply must not undo what the resident did
            log.warning("LINE reply failed", exc_info=True)

    transaction.on_commit(send)
