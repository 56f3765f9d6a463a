"""What residents' messages mean: subscribing, choosing, unsubscribing, answering.

LINE: follow creates a subscriber and asks for a language and a district (quick replies);
a shared location sets the home point; unfollow/block deletes the subscriber's data.
SMS: STOP / 停止 deletes the subscriber's data. Both: the safety-check answers
(evacuated / safe at home / need help) for the latest alert that asked for them.

Every function here runs inside the webhook's transaction and returns the reply text (and
quick replies), which the webhook sends through the reply API after commit.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from linebot.v3.messaging import (
    LocationAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
)

from alerts import delivery_events  # noqa: F401 (registers the event schemas)
from alerts.models import Alert, Language, PhoneConfirmation, SafetyAnswer, Subscriber
from alerts.phones import BadPhoneNumber, to_e164
from alerts.transports import TransportError, send_with_retries
from disaster.errors import Conflict, DomainError, Invalid
from disaster.events import publish
from maps.models import District

log = logging.getLogger(__name__)

STOP_WORDS = {"stop", "停止", "stopall", "unsubscribe", "cancel", "end", "quit", "配信停止"}
SAFETY_WORDS = {
    "evacuated": {"1", "避難", "避難済", "避難した", "evacuated"},
    "safe_at_home": {"2", "自宅", "在宅", "無事", "safe", "home", "safe at home"},
    "need_help": {"3", "助けて", "救助", "help", "need help", "sos"},
}
LANGUAGE_LABELS = dict(Language.choices)
QUICK_REPLY_MAX = 13  # LINE's limit on quick reply buttons


@dataclass
class Answer:
    text: str
    choices: list[QuickReplyItem] = field(default_factory=list)

    def quick_reply(self) -> QuickReply | None:
        return QuickReply(items=self.choices[:QUICK_REPLY_MAX]) if self.choices else None


def reply(reply_token: str, answer: Answer) -> None:
    """Send a webhook answer through LINE's reply API once the event's writes committed."""
    from alerts.transports.line import Line

    def send() -> None:
        try:
            Line().reply(reply_token, answer.text, answer.quick_reply())
        except Exception:  # a lost reply must not undo the subscriber's choice
            log.warning("LINE reply failed", exc_info=True)

    transaction.on_commit(send)


def language_choices() -> list[QuickReplyItem]:
    return [
        QuickReplyItem(action=PostbackAction(label=label, data=f"lang={code}", displayText=label))
        for code, label in LANGUAGE_LABELS.items()
    ]


def district_choices() -> list[QuickReplyItem]:
    items: list[QuickReplyItem] = [QuickReplyItem(action=LocationAction(label="現在地を送る"))]
    for district in District.objects.order_by("name")[: QUICK_REPLY_MAX - 1]:
        label = district.name[:20]  # LINE's limit on a button label
        items.append(
            QuickReplyItem(
                action=PostbackAction(
                    label=label, data=f"district={district.pk}", displayText=label
                )
            )
        )
    return items


def _line_subscriber(user_id: str) -> Subscriber | None:
    return Subscriber.objects.filter(line_user_id=user_id).first()


def follow(user_id: str) -> Answer:
    """Following the account is consent to receive alerts by LINE; recorded with the time."""
    Subscriber.objects.get_or_create(
        line_user_id=user_id,
        defaults={
            "consented_at": timezone.now(),
            "consent_method": Subscriber.ConsentMethod.LINE_FOLLOW,
        },
    )
    return Answer(
        "友だち追加ありがとうございます。避難情報をお届けします。言語を選んでください。"
        " / Thank you. Choose your language.",
        language_choices(),
    )


def forget_line(user_id: str) -> None:
    """Unfollow or block: delete, not flag (DESIGN decision 9)."""
    Subscriber.objects.filter(line_user_id=user_id).delete()


def forget_phone(phone: str) -> bool:
    deleted, _ = Subscriber.objects.filter(phone=phone).delete()
    return bool(deleted)


def set_location(user_id: str, latitude: float, longitude: float) -> Answer:
    subscriber = _line_subscriber(user_id)
    if subscriber is None:
        return Answer("友だち追加からやり直してください。")
    subscriber.home = Point(longitude, latitude, srid=4326)
    subscriber.save(update_fields=["home"])
    return Answer("現在地を登録しました。この地域の避難情報をお届けします。")


def choose(user_id: str, data: str) -> Answer | None:
    """A postback: `lang=<code>`, `district=<id>` or `safety=<alert id>:<answer>`."""
    subscriber = _line_subscriber(user_id)
    if subscriber is None:
        return None
    name, _, value = data.partition("=")
    if name == "lang" and value in LANGUAGE_LABELS:
        subscriber.language = value
        subscriber.save(update_fields=["language"])
        return Answer("地区を選ぶか、現在地を送ってください。", district_choices())
    if name == "district" and value.isdigit():
        district = District.objects.filter(pk=int(value)).first()
        if district is None:
            return Answer("その地区は見つかりません。", district_choices())
        subscriber.districts.add(district)
        return Answer(f"{district.name}の避難情報をお届けします。")
    if name == "safety":
        alert_id, _, kind = value.partition(":")
        if alert_id.isdigit() and kind in SAFETY_WORDS:
            return answer_safety(subscriber, int(alert_id), kind)
    log.info("LINE postback ignored: %s", name)
    return None


def safety_kind(text: str) -> str | None:
    word = re.sub(r"\s+", " ", text.strip().lower())
    for kind, words in SAFETY_WORDS.items():
        if word in words:
            return kind
    return None


def latest_safety_alert(subscriber: Subscriber) -> Alert | None:
    """The most recent alert sent to this subscriber that asked for a safety answer."""
    return (
        Alert.objects.filter(deliveries__subscriber=subscriber, asks_safety=True)
        .order_by("-pk")
        .first()
    )


def answer_safety(subscriber: Subscriber, alert_id: int, kind: str) -> Answer:
    """Record (or change) one subscriber's answer to one alert and publish the counts."""
    alert = Alert.objects.filter(pk=alert_id, deliveries__subscriber=subscriber).first()
    if alert is None:
        return Answer("回答できる安否確認がありません。")
    SafetyAnswer.objects.update_or_create(
        alert=alert, subscriber=subscriber, defaults={"answer": kind, "at": timezone.now()}
    )
    publish_safety(alert)
    if kind == "need_help":
        return Answer("救助が必要との回答を受け付けました。職員が確認します。")
    return Answer("回答ありがとうございました。")


def safety_counts(alert: Alert) -> list[dict]:
    from alerts.targeting import safety_answers_by_district

    counts: dict[int | None, dict] = {}
    for district_id, kind, count in safety_answers_by_district(alert):
        counts.setdefault(district_id, {"district_id": district_id})[kind] = count
    return list(counts.values())


def publish_safety(alert: Alert) -> None:
    publish(
        "alert.safety_answers",
        {"alert_id": alert.pk, "drill": alert.is_drill, "by_district": safety_counts(alert)},
    )


def handle_line_event(event: dict) -> Answer | None:
    """One LINE webhook event. Unknown types are acknowledged and logged, never an error."""
    kind = event.get("type")
    user_id = (event.get("source") or {}).get("userId")
    if not user_id or (event.get("source") or {}).get("type") != "user":
        log.info("LINE event %s without a user ignored", kind)
        return None
    if kind == "follow":
        return follow(user_id)
    if kind == "unfollow":
        forget_line(user_id)
        return None
    if kind == "postback":
        return choose(user_id, str((event.get("postback") or {}).get("data", "")))
    if kind == "message":
        message = event.get("message") or {}
        if message.get("type") == "location":
            try:
                return set_location(
                    user_id, float(message["latitude"]), float(message["longitude"])
                )
            except (KeyError, TypeError, ValueError):
                return None
        if message.get("type") == "text":
            return text_message(user_id, str(message.get("text", "")))
        return None
    log.info("LINE event type %r acknowledged and ignored", kind)
    return None


def text_message(user_id: str, text: str) -> Answer | None:
    subscriber = _line_subscriber(user_id)
    if subscriber is None:
        return None
    word = text.strip().lower()
    if word in {"言語", "language"}:
        return Answer("言語を選んでください。", language_choices())
    if word in {"地区", "district", "area"}:
        return Answer("地区を選ぶか、現在地を送ってください。", district_choices())
    kind = safety_kind(text)
    if kind:
        alert = latest_safety_alert(subscriber)
        return answer_safety(subscriber, alert.pk, kind) if alert else None
    return Answer("「言語」「地区」と送ると設定を変えられます。")


def handle_sms(phone: str, body: str) -> str:
    """An inbound SMS; the answer goes back as TwiML."""
    word = body.strip().lower()
    if word in STOP_WORDS:
        forget_phone(phone)
        return "配信を停止し、登録情報を削除しました。 / Unsubscribed; your data was deleted."
    subscriber = Subscriber.objects.filter(phone=phone).first()
    if subscriber is None:
        return _subscribe_by_text(phone, word)
    kind = safety_kind(body)
    if kind:
        alert = latest_safety_alert(subscriber)
        if alert:
            return answer_safety(subscriber, alert.pk, kind).text
    return "1: 避難した 2: 自宅で無事 3: 助けが必要 / STOP で配信停止"


JOIN_WORDS = {
    "登録": Language.JAPANESE,
    "とうろく": Language.EASY_JAPANESE,
    "join": Language.ENGLISH,
}


def _subscribe_by_text(phone: str, word: str) -> str:
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


def request_sms_code(phone: str, language: str) -> None:
    """Send a one-time code to a number that asks to subscribe. The answer is the same
    whether or not the number is already subscribed (no one learns who is)."""
    try:
        number = to_e164(phone)
    except BadPhoneNumber as error:
        raise Invalid(fields={"phone": _("電話番号の形式が正しくありません。")}) from error
    now = timezone.now()
    pending = PhoneConfirmation.objects.select_for_update().filter(phone=number).first()
    if pending and now - pending.created_at < CODE_RESEND_AFTER:
        raise Conflict(_("確認コードを送ったばかりです。1分ほど待ってからやり直してください。"))
    code = f"{secrets.randbelow(10**6):06d}"
    PhoneConfirmation.objects.update_or_create(
        phone=number,
        defaults={
            "code_hash": _code_hash(number, code),
            "language": language,
            "attempts": 0,
            "expires_at": now + CODE_TTL,
            "created_at": now,
        },
    )
    text = _("【防災】確認コード: {code}（10分間有効）").format(code=code)
    transaction.on_commit(lambda: _send_code(number, text))


def _send_code(number: str, text: str) -> None:
    from alerts.transports import transport_for

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
