"""What the LINE bot and the SMS keywords share: how residents' words are read, the keyword
sets, the language answers are given in (any of the residents' languages), and the limit
on how often one sender is answered.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from alerts.models import Language, Subscriber
from alerts.residents import shelter_finder
from disaster.core import languages, ratelimit

# Each keyword also in the languages residents choose (Language): 简体中文, 한국어,
# Tiếng Việt, Português (and Spanish, which Latin American residents text), Filipino,
# नेपाली. Folded to lower case and NFKC before comparing.
STOP_WORDS = {
    *{"stop", "停止", "stopall", "unsubscribe", "cancel", "end", "quit", "配信停止"},
    *{"退订", "取消订阅", "중지", "수신거부", "dừng", "dung", "parar", "sair", "itigil"},
    "रोक्नुहोस्",
}
DELETE_WORDS = {"削除", "delete", "删除", "삭제", "xóa", "apagar", "burahin", "मेटाउनुहोस्"}
HELP_WORDS = {
    *{"help", "ヘルプ", "へるぷ", "メニュー", "menu", "使い方", "?", "？"},
    *{"帮助", "幫助", "도움말", "giúp", "giup", "trợ giúp", "ajuda", "ayuda", "tulong"},
    "मद्दत",
}
SHELTER_WORDS = {
    *{"避難所", "ひなんじょ", "shelter", "shelters", "避难所", "대피소"},
    *{"abrigo", "refugio", "evacuation", "आश्रयस्थल"},
}
DATA_WORDS = {
    *{"data", "my data", "データ", "私のデータ", "登録情報"},
    *{"数据", "데이터", "dữ liệu", "dados", "datos", "डाटा"},
}
# Keywords only one language writes so: their sender reads that language, and is answered
# in it. Keywords in English (HELP, STOP, DATA, which many write whatever they read) and in
# Spanish (no catalogue of its own) say nothing about the reader.
KEYWORD_LANGUAGE = {
    word: language
    for language, words in {
        Language.JAPANESE: {"停止", "配信停止", "削除", "ヘルプ", "へるぷ", "メニュー", "使い方"}
        | {"避難所", "ひなんじょ", "データ", "私のデータ", "登録情報"},
        Language.CHINESE: {"退订", "取消订阅", "删除", "帮助", "幫助", "避难所", "数据"},
        Language.KOREAN: {"중지", "수신거부", "삭제", "도움말", "대피소", "데이터"},
        Language.VIETNAMESE: {"dừng", "dung", "xóa", "giúp", "giup", "trợ giúp", "dữ liệu"},
        Language.PORTUGUESE: {"parar", "sair", "apagar", "ajuda", "abrigo", "dados"},
        Language.FILIPINO: {"itigil", "burahin", "tulong"},
        Language.NEPALI: {"रोक्नुहोस्", "मेटाउनुहोस्", "मद्दत", "आश्रयस्थल", "डाटा"},
    }.items()
    for word in words
}
SETTINGS_WORDS = {"言語", "language", "設定", "settings"}
DISTRICT_WORDS = {"地区", "district", "area"}


def keyword(text: str) -> str:
    """Words as compared with the keyword sets: full-width folded, spaces collapsed, lower."""
    return shelter_finder.normalised(text).lower()


def reply_language(subscriber: Subscriber | None) -> str:
    """The Django language a subscriber's answers are in: the one they chose (Japanese for
    a sender we do not know)."""
    if subscriber is None:
        return "ja"
    return languages.django_language(subscriber.language)


def answer_language(word: str, subscriber: Subscriber | None) -> str:
    """The Django language to answer a text in: the language of its keyword when only one
    language writes it (帮助, 도움말, AJUDA…); else the subscriber's; else, from a sender we
    do not know, English for words in Latin letters and Japanese for the rest."""
    first_word = word.partition(" ")[0]
    written_in = KEYWORD_LANGUAGE.get(word) or KEYWORD_LANGUAGE.get(first_word)
    if written_in:
        return languages.django_language(written_in)
    if subscriber is not None:
        return reply_language(subscriber)
    return "en" if word and word.isascii() else "ja"


def past_limit(channel: str, address: str) -> int:
    """Count this message; how many the sender is past RESIDENT_MESSAGES_PER_MINUTE (0:
    within). Past it, a sender is answered once (`too_many`), then not at all."""
    count = ratelimit.hit(ratelimit.sender_key(channel, address), 60)
    return max(0, count - settings.RESIDENT_MESSAGES_PER_MINUTE)


def flooding(channel: str, address: str) -> bool:
    """Past the limit already (without counting): spare the work of a message we will not
    answer."""
    key = ratelimit.sender_key(channel, address)
    return ratelimit.current(key, 60) > settings.RESIDENT_MESSAGES_PER_MINUTE


def too_many() -> str:
    return _("短時間に送信が多すぎます。1分ほど待ってから送ってください。")
