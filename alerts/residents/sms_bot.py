"""Inbound SMS: keywords in Japanese and English, each answered in one SMS (or not at all).

Every keyword also in the residents' languages (alerts/residents/words.py: 帮助, 도움말,
AJUDA, AYUDA, TULONG, मद्दत…).

- 避難所 / SHELTER + a district name or postal code: the nearest open shelters
- ヘルプ / HELP: the keywords (HELP or 3 answers an open safety check instead)
- データ / DATA: what we keep about the number
- 停止 / STOP / 削除 / DELETE: unsubscribe and delete
- 登録 / JOIN, then the code texted back: subscribe (alerts/subscriptions.py)
- 1 / 2 / 3 and words: the answer to an open safety check (alerts/safety.py)

The answer is in the language of the keyword when only one language writes it (帮助 in
简体中文, AJUDA in Português), else in the subscriber's (words.answer_language).
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
    SHELTER_WORDS,
    STOP_WORDS,
    answer_language,
    keyword,
    past_limit,
    too_many,
)
from disaster.core import languages


def handle_sms(phone: str, body: str) -> str:
    """An inbound SMS; the answer goes back as TwiML (empty: no answer)."""
    word = keyword(body)
    subscriber = Subscriber.objects.filter(phone=phone).first()
    with translation.override(answer_language(word, subscriber)):
        if word in STOP_WORDS | DELETE_WORDS:
            privacy.forget_phone(phone)
            return fit_sms(_("配信を停止し、登録情報を削除しました。"))
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
    where = languages.readable(district.name, district.name_en)
    return shelter_finder.sms_text(shelter_finder.district_point(district), where)
