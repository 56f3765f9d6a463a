"""Inbound SMS: keywords in Japanese and English, each answered in one SMS (or not at all).

Every keyword also in the residents' languages (alerts/residents/words.py: 帮助, 도움말,
AJUDA, AYUDA, TULONG, मद्दत…).

- 避難所 / SHELTER + a district name or postal code: the nearest open shelters
- ヘルプ / HELP: the keywords (HELP or 3 answers an open safety check instead)
- データ / DATA: what we keep about the number
- 停止 / STOP / 削除 / DELETE: unsubscribe and delete
- 登録 / JOIN, then the code texted back: subscribe (alerts/subscriptions.py)
- 1 / 2 / 3 and words: the answer to an open safety check (alerts/safety.py)

The answer is in Japanese when the keyword was, in English for a keyword in any other
language, else in the subscriber's language.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from alerts.delivery import safety
from alerts.models import Subscriber
from alerts.residents import privacy, shelter_finder
from alerts.residents.shelter_finder import fit_sms
from alerts.residents.subscriptions import subscribe_by_text
from alerts.residents.words import (
    DATA_WORDS,
    DELETE_WORDS,
    HELP_WORDS,
    JAPANESE_KEYWORDS,
    SHELTER_WORDS,
    STOP_WORDS,
    keyword,
    past_limit,
    reply_language,
    too_many,
)


def handle_sms(phone: str, body: str) -> str:
    """An inbound SMS; the answer goes back as TwiML (empty: no answer)."""
    word = keyword(body)
    if word in STOP_WORDS | DELETE_WORDS:
        privacy.forget_phone(phone)
        return "配信を停止し、登録情報を削除しました。 / Unsubscribed; your data was deleted."
    subscriber = Subscriber.objects.filter(phone=phone).first()
    first_word = word.partition(" ")[0]
    if first_word in JAPANESE_KEYWORDS:
        english = False
    elif keyword_known(word, first_word):  # HELP, AYUDA, 帮助…: whoever wrote it
        english = True
    else:
        english = word.isascii() if word else reply_language(subscriber) == "en"
    with translation.override("en" if english else "ja"):
        past = past_limit("sms", phone)
        if past:
            return fit_sms(too_many()) if past == 1 else ""
        kind = safety.kind_of(body)
        if kind and subscriber and (check := safety.open_check(subscriber)) is not None:
            return fit_sms(safety.answer(subscriber, check.pk, kind))
        first, _sep, rest = word.partition(" ")
        if first in SHELTER_WORDS:
            return shelter_by_sms(rest)
        if word in DATA_WORDS:
            return fit_sms(privacy.phone_summary(phone))
        if subscriber is None and word not in HELP_WORDS:
            return fit_sms(subscribe_by_text(phone, word) or sms_help())
        return sms_help()


def keyword_known(word: str, first_word: str) -> bool:
    every = STOP_WORDS | DELETE_WORDS | HELP_WORDS | DATA_WORDS
    return word in every or first_word in SHELTER_WORDS


def sms_help() -> str:
    return fit_sms(
        _("避難所 地区名か郵便番号: 近くの避難所 / データ: 登録情報 / 停止: 配信停止と削除")
    )


def shelter_by_sms(place: str) -> str:
    if not place:
        return fit_sms(_("例: 避難所 栗原 / 避難所 2520013"))
    district = shelter_finder.district_named(place)
    if district is None:
        return fit_sms(
            _("「%(place)s」が見つかりません。地区名か郵便番号7桁で送ってください。")
            % {"place": place[:20]}
        )
    return shelter_finder.sms_text(shelter_finder.district_point(district), district.name)
