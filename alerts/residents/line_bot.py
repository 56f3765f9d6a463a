"""The LINE bot: what each webhook event from a resident means, and the answer.

Following the account subscribes (consent recorded) and asks for a language, then a
district or the home location. Every answer that ends a step offers the menu as quick
replies: report damage, nearest shelter, settings, my data, stop. A photo, words and a
location make a damage report (alerts/line_reports.py); a location alone answers with the
nearest open shelters. Unfollow, block or stop delete the resident's data
(alerts/privacy.py). A redelivered event is handled once; a sender who floods the bot is
answered once, then ignored for the rest of the minute.

Every function here runs inside the event's transaction and returns the answer, which the
webhook sends through the reply API after commit.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from linebot.v3.messaging import LocationAction, PostbackAction, QuickReplyItem

from alerts.delivery import safety
from alerts.models import Language, SeenLineEvent, Subscriber
from alerts.residents import line_reports, privacy, shelter_finder
from alerts.residents.replies import QUICK_REPLY_MAX, Answer
from alerts.residents.words import (
    DATA_WORDS,
    DISTRICT_WORDS,
    HELP_WORDS,
    SETTINGS_WORDS,
    SHELTER_WORDS,
    STOP_WORDS,
    keyword,
    past_limit,
    reply_language,
    too_many,
)
from disaster.core.errors import DomainError
from disaster.core.geography import District
from disaster.reports.services import city_contains

log = logging.getLogger(__name__)

LANGUAGE_LABELS = dict(Language.choices)


def handle_line_event(event: dict, photo: bytes | DomainError | None = None) -> Answer | None:
    """One LINE webhook event, with the photo of an image message already fetched (or why
    it could not be). Unknown types are acknowledged and logged, never an error."""
    kind = event.get("type")
    source = event.get("source") or {}
    user_id = source.get("userId")
    if not user_id or source.get("type") != "user":
        log.info("LINE event %s without a user ignored", kind)
        return None
    if not first_time(event):
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
    with translation.override(reply_language(_subscriber(user_id))):
        past = past_limit("line", user_id)
        if past:
            return Answer(too_many()) if past == 1 else None
        if kind == "postback":
            return choose(user_id, str((event.get("postback") or {}).get("data", "")))
        return message(user_id, event.get("message") or {}, photo)


def event_id(event: dict) -> str:
    return str(event.get("webhookEventId") or "")[:64]


def first_time(event: dict) -> bool:
    """Record the event's id in its own transaction; False if it was handled already (LINE
    redelivers what it could not confirm, possibly while the first delivery is still being
    handled: the insert then waits for it, and finds it)."""
    seen = event_id(event)
    if not seen:
        return True
    _row, created = SeenLineEvent.objects.get_or_create(event_id=seen)
    return created


def handled_before(event: dict) -> bool:
    """A cheap look before fetching a photo: this event was handled (committed) already."""
    seen = event_id(event)
    return bool(seen) and SeenLineEvent.objects.filter(event_id=seen).exists()


def _subscriber(user_id: str) -> Subscriber | None:
    return Subscriber.objects.filter(line_user_id=user_id).first()


# --- the menu ---------------------------------------------------------------------------


def menu_choices() -> list[QuickReplyItem]:
    """The bot's menu, offered with every answer that ends a step."""
    entries = [
        (_("被害を報告"), "menu=report"),
        (_("近くの避難所"), "menu=shelters"),
        (_("設定"), "menu=settings"),
        (_("私のデータ"), "menu=data"),
        (_("配信停止"), "menu=stop"),
    ]
    return [postback_item(label, data) for label, data in entries]


def postback_item(label: str, data: str) -> QuickReplyItem:
    return QuickReplyItem(action=PostbackAction(label=label[:20], data=data, displayText=label))


def with_menu(text: str) -> Answer:
    return Answer(text, menu_choices())


def language_choices() -> list[QuickReplyItem]:
    return [postback_item(label, f"lang={code}") for code, label in LANGUAGE_LABELS.items()]


def district_choices(start: int = 0) -> list[QuickReplyItem]:
    """The home location, then the districts a page at a time (LINE shows 13 buttons)."""
    page = QUICK_REPLY_MAX - 2  # the location button, and "more" when there are more
    districts = list(District.objects.order_by("name")[start : start + page + 1])
    items = [QuickReplyItem(action=LocationAction(label=_("自宅の位置を送る")))]
    items += [postback_item(d.name, f"district={d.pk}") for d in districts[:page]]
    if len(districts) > page:
        items.append(postback_item(_("ほかの地区"), f"districts={start + page}"))
    return items


def ask_district(user_id: str, start: int = 0) -> Answer:
    """The districts to pick from, or the home location: the next location shared is home."""
    line_reports.await_home(user_id)
    return Answer(_("地区を選ぶか、自宅で位置情報を送ってください。"), district_choices(start))


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
    subscriber = _subscriber(user_id)
    if entry == "report":
        line_reports.stop_awaiting(user_id)
        return Answer(
            _(
                "被害の写真と場所（位置情報）を送ってください。"
                "写真がなければ、様子を文章で送ってください。"
            ),
            line_reports.photo_choices() + line_reports.place_choices(),
        )
    if entry == "shelters":
        return _shelters(subscriber)
    if entry == "settings":
        if subscriber is None:
            return with_menu(_("避難情報の受信は、友だち追加からやり直してください。"))
        return Answer(_("言語を選んでください。"), language_choices())
    if entry == "data":
        return Answer(
            privacy.line_summary(user_id), [postback_item(_("データを削除"), "menu=stop")]
        )
    if entry == "stop":
        return Answer(
            _(
                "避難情報の配信を止め、登録情報と送った報告とのつながりをすべて削除します。"
                "よろしいですか？"
            ),
            [
                postback_item(_("はい、削除する"), "forget=yes"),
                postback_item(_("いいえ"), "menu=main"),
            ],
        )
    if entry == "main":
        return with_menu(_("メニューから選んでください。"))
    return None


def _shelters(subscriber: Subscriber | None) -> Answer:
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


def choose(user_id: str, data: str) -> Answer | None:
    """A postback: `menu=<entry>`, `lang=<code>`, `district=<id>`, `districts=<from>`,
    `category=<report>:<kind>`, `forget=yes` or `safety=<alert id>:<answer>`."""
    name, _sep, value = data.partition("=")
    if name == "menu":
        return menu(user_id, value)
    if name == "category":
        return line_reports.choose_category(user_id, value)
    if name == "forget" and value == "yes":
        privacy.forget_line(user_id)
        return Answer(
            _(
                "配信を停止し、登録情報を削除しました。"
                "再開するにはブロックを解除するか、もう一度友だち追加してください。"
            )
        )
    subscriber = _subscriber(user_id)
    if subscriber is None:
        return with_menu(_("避難情報の受信は、友だち追加からやり直してください。"))
    if name == "lang" and value in LANGUAGE_LABELS:
        subscriber.language = value
        subscriber.save(update_fields=["language"])
        with translation.override(reply_language(subscriber)):
            return ask_district(user_id)
    if name == "districts" and value.isdigit():
        return ask_district(user_id, int(value))
    if name == "district" and value.isdigit():
        return _choose_district(user_id, subscriber, int(value))
    if name == "safety":
        alert_id, _sep, kind = value.partition(":")
        if alert_id.isdigit() and kind in safety.SAFETY_WORDS:
            return Answer(safety.answer(subscriber, int(alert_id), kind))
    log.info("LINE postback ignored: %s", name)
    return None


def _choose_district(user_id: str, subscriber: Subscriber, district_id: int) -> Answer:
    """The district the resident lives in: it replaces any chosen before (someone who moved
    stops getting the old district's alerts)."""
    line_reports.stop_awaiting(user_id)
    district = District.objects.filter(pk=district_id).first()
    if district is None:
        return Answer(_("その地区は見つかりません。"), district_choices())
    subscriber.districts.set([district])
    return with_menu(_("%(district)sの避難情報をお届けします。") % {"district": district.name})


# --- messages ---------------------------------------------------------------------------


def message(user_id: str, content: dict, photo: bytes | DomainError | None) -> Answer | None:
    kind = content.get("type")
    if kind == "text":
        return text_message(user_id, str(content.get("text", "")))
    if kind == "location":
        return _location(user_id, content)
    if kind == "image":
        if isinstance(photo, DomainError):
            return with_menu(photo.message)
        if photo is None:
            return with_menu(_("写真を受け取れませんでした。もう一度送ってください。"))
        try:
            return line_reports.add_photo(user_id, photo)
        except DomainError as error:  # not a photo we can read, or too many pixels
            return with_menu(error.message)
    return with_menu(
        _(
            "スタンプ・動画・音声・ファイルには対応していません。"
            "写真・文章・位置情報を送るか、メニューから選んでください。"
        )
    )


def _location(user_id: str, content: dict) -> Answer | None:
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


def text_message(user_id: str, text: str) -> Answer | None:
    """A safety answer while a check is open, then keywords (menu, shelter, settings, data,
    stop); any other words describe damage and wait for a place, or add to the report just
    sent."""
    word = keyword(text)
    subscriber = _subscriber(user_id)
    kind = safety.kind_of(text)
    if kind and subscriber and (check := safety.open_check(subscriber)) is not None:
        return Answer(safety.answer(subscriber, check.pk, kind))
    if kind or word in HELP_WORDS or not word:
        return menu(user_id, "main")
    if word in SHELTER_WORDS:
        return menu(user_id, "shelters")
    if word in DATA_WORDS:
        return menu(user_id, "data")
    if word in STOP_WORDS:
        return menu(user_id, "stop")
    if word in SETTINGS_WORDS:
        return menu(user_id, "settings")
    if word in DISTRICT_WORDS and subscriber is not None:
        return ask_district(user_id)
    return line_reports.add_text(user_id, text.strip())
