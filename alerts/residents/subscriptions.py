"""Subscribing by SMS: a number asks (the web form, or 登録/JOIN texted), gets a one-time
code by SMS, and is subscribed once the code comes back. LINE users subscribe by following
the account (alerts/line_bot.py).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.delivery.transports import TransportError, send_with_retries
from alerts.models import Language, PhoneConfirmation, Subscriber
from alerts.phones import BadPhoneNumber, to_e164
from disaster.core import ratelimit
from disaster.core.errors import DomainError, Invalid, RateLimited
from disaster.core.geography import District

log = logging.getLogger(__name__)

JOIN_WORDS = {
    "登録": Language.JAPANESE,
    "とうろく": Language.EASY_JAPANESE,
    "join": Language.ENGLISH,
}


def subscribe_by_text(phone: str, word: str) -> str:
    """An unknown number texting 登録/JOIN gets a one-time code by SMS; texting the code
    back confirms it (the same steps as the web form)."""
    if word in JOIN_WORDS:
        try:
            request_sms_code(phone, JOIN_WORDS[word])
        except DomainError as error:
            return str(error.message)
        return "確認コードを送りました。届いた6桁の数字を返信してください。 / Reply with the code."
    if re.fullmatch(r"\d{6}", word) and PhoneConfirmation.objects.filter(phone=phone).exists():
        try:
            confirm_sms_code(phone, word, [])
        except DomainError as error:
            return " ".join(str(m) for m in error.fields.values()) or str(error.message)
        return "登録しました。避難情報をお届けします。停止は STOP / Subscribed. STOP to end."
    return ""


# SMS subscription: number → one-time code by SMS → confirmed subscriber.

CODE_TTL = timedelta(minutes=10)
CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_TRIES = 5


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), "sha256").hexdigest()


def sign_up_number(phone: str) -> str:
    """The number in E.164, or a 422: not a phone number, or in a country this city does
    not send codes to (SMS_ALLOWED_COUNTRY_CODES; a code sent abroad costs many times
    more, and SMS pumping fraud lives on exactly that)."""
    try:
        number = to_e164(phone)
    except BadPhoneNumber as error:
        raise Invalid(fields={"phone": _("電話番号の形式が正しくありません。")}) from error
    if not number.startswith(tuple(settings.SMS_ALLOWED_COUNTRY_CODES)):
        raise Invalid(fields={"phone": _("この国の電話番号には確認コードを送れません。")})
    return number


def client_wait(client: str) -> int | None:
    """Seconds a client (see `disaster.core.clients`) must wait before asking for another
    code: at most SMS_CODES_PER_CLIENT_PER_HOUR."""
    return ratelimit.wait_after(
        f"sms-code-client:{client}", 3600, settings.SMS_CODES_PER_CLIENT_PER_HOUR
    )


def count_client_request(client: str) -> None:
    """Count a client's request for a code; 429 beyond SMS_CODES_PER_CLIENT_PER_HOUR."""
    if ratelimit.hit(f"sms-code-client:{client}", 3600) > settings.SMS_CODES_PER_CLIENT_PER_HOUR:
        raise RateLimited(retry_after=client_wait(client) or 60)


def request_sms_code(phone: str, language: str) -> None:
    """Send a one-time code to a number that asks to subscribe. The answer is the same
    whether or not the number is subscribed, and whether or not a code was just sent to it
    or it had its day's codes (SMS_CODES_PER_NUMBER_PER_DAY): no one learns who asked.
    All numbers together get at most SMS_CODES_PER_HOUR codes (429 beyond), a ceiling on
    what a flood from many addresses can cost."""
    number = sign_up_number(phone)
    # Counted outside the code's transaction, so a refusal still counts and the global
    # window's row is locked only for the moment of its update.
    if ratelimit.hit("sms-code-global", 3600) > settings.SMS_CODES_PER_HOUR:
        raise RateLimited(
            _("登録の申し込みが混み合っています。しばらくしてからもう一度お試しください。"),
            retry_after=ratelimit.wait_after("sms-code-global", 3600, settings.SMS_CODES_PER_HOUR)
            or 60,
        )
    with transaction.atomic():
        now = timezone.now()
        # The row is the number's lock: made first if missing, so two requests for a new
        # number queue here instead of both inserting (an IntegrityError naming the number).
        pending, created = PhoneConfirmation.objects.select_for_update().get_or_create(
            phone=number,
            defaults={"code_hash": "", "expires_at": now, "created_at": now - CODE_TTL},
        )
        if now - pending.created_at < CODE_RESEND_AFTER:
            return  # one was just sent: the same answer, no second code
        daily = ratelimit.hit(f"sms-code-number:{ratelimit.keyed_hash(number)}", 86400)
        if daily > settings.SMS_CODES_PER_NUMBER_PER_DAY:
            if created:
                pending.delete()
            return  # a number texted over and over is left alone for the day
        code = f"{secrets.randbelow(10**6):06d}"
        pending.code_hash = _code_hash(number, code)
        pending.language = language
        pending.attempts = 0
        pending.expires_at = now + CODE_TTL
        pending.created_at = now
        pending.save()
        text = _("【防災】確認コード: {code}（10分間有効）").format(code=code)
        transaction.on_commit(lambda: _send_code(number, text))


def _send_code(number: str, text: str) -> None:
    from alerts.delivery.transports import transport_for

    try:
        send_with_retries(
            transport_for("sms"),
            [number],
            text,
            idempotency_key=str(uuid.uuid4()),
            since=timezone.now(),
        )
    except TransportError as error:  # the resident asks again; nothing to undo
        log.warning("confirmation code not sent: %s", error.message)


def confirm_sms_code(phone: str, code: str, district_ids: list[int]) -> Subscriber:
    """Check the code; a right one makes (or refreshes) the subscriber with consent now.
    A wrong one counts against CODE_MAX_TRIES, committed before the refusal is raised."""
    try:
        number = to_e164(phone)
    except BadPhoneNumber as error:
        raise Invalid(fields={"phone": _("電話番号の形式が正しくありません。")}) from error
    districts = list(District.objects.filter(pk__in=district_ids))
    if len(districts) != len(set(district_ids)):
        raise Invalid(fields={"district_ids": _("存在しない地区があります。")})
    with transaction.atomic():
        pending = PhoneConfirmation.objects.select_for_update().filter(phone=number).first()
        if pending is None or pending.expires_at < timezone.now():
            raise Invalid(fields={"code": _("確認コードの有効期限が切れています。")})
        if pending.attempts >= CODE_MAX_TRIES:
            raise Invalid(
                fields={"code": _("試行回数が上限に達しました。コードを再送してください。")}
            )
        right = hmac.compare_digest(pending.code_hash, _code_hash(number, code.strip()))
        if right:
            now = timezone.now()
            subscriber, _created = Subscriber.objects.update_or_create(
                phone=number,
                defaults={
                    "phone_confirmed_at": now,
                    "language": pending.language,
                    "consented_at": now,
                    "consent_method": Subscriber.ConsentMethod.SMS,
                },
            )
            if districts:
                subscriber.districts.set(districts)
            pending.delete()
            return subscriber
        PhoneConfirmation.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1)
    raise Invalid(fields={"code": _("確認コードが違います。")})
