"""What residents' messages mean: subscribing, choosing, reporting, asking, unsubscribing.

LINE: follow creates a subscriber and asks for a language and a district (quick replies);
every answer offers the menu (report damage, nearest shelter, settings, my data, stop). A
photo, words and a location become a damage report (alerts/line_reports.py); a location
also answers with the nearest open shelters; unfollow, block or stop deletes the
resident's data (alerts/privacy.py). SMS: keywords in Japanese and English for the nearest
open shelter (by district name or postal code), help, my data and STOP / 停止.
Both: the safety-check answers (evacuated / safe at home / need help) for the latest alert
that asked for them. A sender who floods the bot is answered once, then ignored for the
rest of the minute.

Every function here runs inside the webhook's transaction and returns the answer, which
the webhook sends after commit (LINE's reply API, or TwiML for an SMS).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from linebot.v3.messaging import LocationAction, PostbackAction, QuickReplyItem

from alerts import (
    delivery_events,  # noqa: F401 (registers the event schemas)
    line_reports,
    privacy,
    shelter_finder,
)
from alerts.models import (
    Alert,
    Language,
    PhoneConfirmation,
    SafetyAnswer,
    SeenLineEvent,
    Subscriber,
)
from alerts.phones import BadPhoneNumber, to_e164
from alerts.replies import QUICK_REPLY_MAX, Answer
from alerts.transports import TransportError, send_with_retries
from disaster import ratelimit
from disaster.errors import Conflict, DomainError, Invalid, TooLarge
from disaster.events import publish
from disaster.reports import city_contains
from maps.models import District

log = logging.getLogger(__name__)

STOP_WORDS = {"stop", "停止", "stopall", "unsubscribe", "cancel", "end", "quit", "配信停止"}
SAFETY_WORDS = {
    "evacuated": {"1", "避難", "避難済", "避難した", "evacuated"},
    "safe_at_home": {"2", "自宅", "在宅", "無事", "safe", "home", "safe at home"},
    "need_help": {"3", "助けて", "救助", "help", "need help", "sos"},
}
HELP_WORDS = {"help", "ヘルプ", "へるぷ", "メニュー", "menu", "使い方", "?", "？"}
SHELTER_WORDS = {"避難所", "ひなんじょ", "shelter", "shelters"}
DATA_WORDS = {"data", "my data", "データ", "私のデータ", "登録情報"}
LANGUAGE_LABELS = dict(Language.choices)
# Replies in the languages we have words for; other readers get English.
REPLY_LANGUAGE = {Language.JAPANESE: "ja", Language.EASY_JAPANESE: "ja"}


def reply_language(subscriber: Subscriber | None) -> str:
    if subscriber is None:
        return "ja"
    return REPLY_LANGUAGE.get(subscriber.language, "en")


def keyword(text: str) -> str:
    return shelter_finder.normalised(text).lower()


# --- LINE ---------------------------------------------------------------------------------


def menu_choices() -> list[QuickReplyItem]:
    """The bot's menu, offered with every answer that ends a step."""
    entries = [
        (_("被害を報告"), "menu=report"),
        (_("近くの避難所"), "menu=shelters"),
        (_("設定"), "menu=settings"),
        (_("私のデータ"), "menu=data"),
        (_("配信停止"), "menu=stop"),
    ]
    return [
        QuickReplyItem(action=PostbackAction(label=label, data=data, displayText=label))
        for label, data in entries
    ]


def with_menu(text: str) -> Answer:
    return Answer(text, menu_choices())


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


def ask_district(user_id: str) -> Answer:
    """The districts to pick from, or the home location: the next location shared is home."""
    line_reports.await_home(user_id)
    return Answer(_("地区を選ぶか、自宅で現在地を送ってください。"), district_choices())


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


def menu(user_id: str, entry: str) -> Answer | None:
    """A tap on the menu (or its keyword)."""
    subscriber = _line_subscriber(user_id)
    if entry == "report":
        return Answer(
            _(
                "被害の写真と場所（位置情報）を送ってください。"
                "写真がなければ、様子を文章で送ってください。"
            ),
            line_reports.photo_choices() + line_reports.place_choices(),
        )
    if entry == "shelters":
        ask = line_reports.place_choices()
        if subscriber is not None and subscriber.home is not None:
            return Answer(
                _("自宅の近く:")
                + "\n"
                + shelter_finder.line_text(subscriber.home)
                + "\n\n"
                + _("今いる場所の近くを探すには、位置情報を送ってください。"),
                ask,
            )
        return Answer(_("位置情報を送ると、近くの開設中の避難所をお知らせします。"), ask)
    if entry == "settings":
        if subscriber is None:
            return with_menu(_("避難情報の受信は、友だち追加からやり直してください。"))
        return Answer(_("言語を選んでください。"), language_choices())
    if entry == "data":
        forget = PostbackAction(
            label=_("データを削除"), data="menu=stop", displayText=_("データを削除")
        )
        return Answer(privacy.line_summary(user_id), [QuickReplyItem(action=forget)])
    if entry == "stop":
        yes = PostbackAction(label=_("はい、削除する"), data="forget=yes", displayText=_("はい"))
        no = PostbackAction(label=_("いいえ"), data="menu=main", displayText=_("いいえ"))
        return Answer(
            _(
                "避難情報の配信を止め、登録情報と送った報告とのつながりをすべて削除します。よろしいですか？"
            ),
            [QuickReplyItem(action=yes), QuickReplyItem(action=no)],
        )
    if entry == "main":
        return with_menu(_("メニューから選んでください。"))
    return None


def choose(user_id: str, data: str) -> Answer | None:
    """A postback: `menu=<entry>`, `lang=<code>`, `district=<id>`, `category=<report>:<kind>`,
    `forget=yes` or `safety=<alert id>:<answer>`."""
    name, _sep, value = data.partition("=")
    if name == "menu":
        return menu(user_id, value)
    if name == "category":
        return line_reports.choose_category(user_id, value)
    if name == "forget" and value == "yes":
        privacy.forget_line(user_id)
        return Answer(
            _(
                "配信を停止し、登録情報を削除しました。再開するにはブロックを解除するか、もう一度友だち追加してください。"
            )
        )
    subscriber = _line_subscriber(user_id)
    if subscriber is None:
        return None
    if name == "lang" and value in LANGUAGE_LABELS:
        subscriber.language = value
        subscriber.save(update_fields=["language"])
        with translation.override(reply_language(subscriber)):
            return ask_district(user_id)
    if name == "district" and value.isdigit():
        district = District.objects.filter(pk=int(value)).first()
        if district is None:
            return Answer(_("その地区は見つかりません。"), district_choices())
        subscriber.districts.add(district)
        return with_menu(_("%(district)sの避難情報をお届けします。") % {"district": district.name})
    if name == "safety":
        alert_id, _sep, kind = value.partition(":")
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


def handle_line_event(event: dict, photo: bytes | DomainError | None = None) -> Answer | None:
    """One LINE webhook event, with the photo of an image message already fetched (or why
    it could not be). Unknown types are acknowledged and logged, never an error."""
    kind = event.get("type")
    source = event.get("source") or {}
    user_id = source.get("userId")
    if not user_id or source.get("type") != "user":
        log.info("LINE event %s without a user ignored", kind)
        return None
    if not _first_time(event):
        log.info("LINE event redelivered and already handled")
        return None
    if kind == "follow":
        return follow(user_id)
    if kind == "unfollow":
        privacy.forget_line(user_id)
        return None
    if kind not in {"message", "postback"}:
        log.info("LINE event type %r acknowledged and ignored", kind)
        return None
    with translation.override(reply_language(_line_subscriber(user_id))):
        past = over_limit("line", user_id)
        if past:
            return Answer(too_many()) if past == 1 else None
        if kind == "postback":
            return choose(user_id, str((event.get("postback") or {}).get("data", "")))
        return message(user_id, event.get("message") or {}, photo)


def _first_time(event: dict) -> bool:
    """False for a redelivery of an event we handled (LINE resends events it could not
    confirm, and a resent photo must not make a second report)."""
    event_id = str(event.get("webhookEventId") or "")[:64]
    if not event_id:
        return True
    redelivered = bool((event.get("deliveryContext") or {}).get("isRedelivery"))
    if redelivered and SeenLineEvent.objects.filter(event_id=event_id).exists():
        return False
    SeenLineEvent.objects.get_or_create(event_id=event_id)
    return True


def over_limit(channel: str, address: str) -> int:
    """How many messages this sender is past RESIDENT_MESSAGES_PER_MINUTE (0: within)."""
    count = ratelimit.hit(ratelimit.sender_key(channel, address), 60)
    return max(0, count - settings.RESIDENT_MESSAGES_PER_MINUTE)


def too_many() -> str:
    return _("短時間に送信が多すぎます。1分ほど待ってから送ってください。")


def message(user_id: str, content: dict, photo: bytes | DomainError | None) -> Answer | None:
    kind = content.get("type")
    if kind == "text":
        return text_message(user_id, str(content.get("text", "")))
    if kind == "location":
        try:
            here = Point(float(content["longitude"]), float(content["latitude"]), srid=4326)
        except (KeyError, TypeError, ValueError):
            return None
        if not city_contains(here):
            return with_menu(
                _("その場所は%(city)sの外です。%(city)s内の場所を送ってください。")
                % {"city": settings.CITY_NAME}
            )
        return line_reports.add_place(user_id, here, str(content.get("address") or ""))
    if kind == "image":
        return _photo(user_id, photo)
    return with_menu(
        _(
            "スタンプ・動画・音声・ファイルには対応していません。"
            "写真・文章・位置情報を送るか、メニューから選んでください。"
        )
    )


def _photo(user_id: str, photo: bytes | DomainError | None) -> Answer:
    try:
        if isinstance(photo, DomainError):
            raise photo
        if photo is None:
            raise DomainError(_("写真を受け取れませんでした。もう一度送ってください。"))
        return line_reports.add_photo(user_id, photo)
    except TooLarge:
        return with_menu(line_reports.too_large())
    except DomainError as error:
        return with_menu(
            error.message if error.status != 415 else _("写真（JPEG・PNG・WebP）を送ってください。")
        )


def text_message(user_id: str, text: str) -> Answer | None:
    """A safety answer while a check is open, then keywords (menu, shelter, settings, data,
    stop); any other words describe damage and wait for a place, or add to the report just
    sent."""
    word = keyword(text)
    subscriber = _line_subscriber(user_id)
    kind = safety_kind(text)
    alert = latest_safety_alert(subscriber) if kind and subscriber else None
    if alert is not None:
        return answer_safety(subscriber, alert.pk, kind)
    if kind or word in HELP_WORDS or not word:
        return menu(user_id, "main")
    if word in SHELTER_WORDS:
        return menu(user_id, "shelters")
    if word in DATA_WORDS:
        return menu(user_id, "data")
    if word in STOP_WORDS:
        return menu(user_id, "stop")
    if word in {"言語", "language", "設定", "settings"}:
        return menu(user_id, "settings")
    if word in {"地区", "district", "area"} and subscriber is not None:
        return ask_district(user_id)
    return line_reports.add_text(user_id, text.strip())


# --- SMS ------------------------------------------------------------------------------------


def handle_sms(phone: str, body: str) -> str:
    """An inbound SMS; the answer goes back as TwiML (empty: no answer)."""
    word = keyword(body)
    if word in STOP_WORDS or word in {"削除", "delete"}:
        privacy.forget_phone(phone)
        return "配信を停止し、登録情報を削除しました。 / Unsubscribed; your data was deleted."
    subscriber = Subscriber.objects.filter(phone=phone).first()
    english = word.isascii() if word else reply_language(subscriber) == "en"
    with translation.override("en" if english else "ja"):
        past = over_limit("sms", phone)
        if past:
            return shelter_finder.fit_sms(too_many()) if past == 1 else ""
        kind = safety_kind(body)
        alert = latest_safety_alert(subscriber) if kind and subscriber else None
        if alert is not None:
            return answer_safety(subscriber, alert.pk, kind).text
        first, _sep, rest = word.partition(" ")
        if first in SHELTER_WORDS:
            return shelter_by_sms(rest)
        if word in HELP_WORDS:
            return sms_help()
        if word in DATA_WORDS:
            return privacy.phone_summary(phone)
        if subscriber is None:
            return _subscribe_by_text(phone, word) or sms_help()
        return sms_help()


def sms_help() -> str:
    return shelter_finder.fit_sms(
        _("避難所 地区名か郵便番号: 近くの避難所 / データ: 登録情報 / 停止: 配信停止と削除")
    )


def shelter_by_sms(place: str) -> str:
    if not place:
        return shelter_finder.fit_sms(_("例: 避難所 栗原 / 避難所 2520013"))
    district = shelter_finder.district_named(place)
    if district is None:
        return shelter_finder.fit_sms(
            _("「%(place)s」が見つかりません。地区名か郵便番号7桁で送ってください。")
            % {"place": place[:20]}
        )
    return shelter_finder.sms_text(shelter_finder.district_point(district), district.name)


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
