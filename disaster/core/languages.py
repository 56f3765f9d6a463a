"""The languages of the interface, and the one map between a resident's language
(alerts.models.Language, what a subscriber chooses) and the code Django activates for it.

Staff pages speak 日本語 and English (STAFF); the residents' pages (/map/, /map/report/, the
anonymous home page) and the LINE and SMS bots speak every language residents choose
(RESIDENT). Their catalogues are drafts until a native speaker reviews them, as the alert
templates are (alerts/wording/README.md, "Who must review a new language").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils import translation

if TYPE_CHECKING:  # the settings import this module: keep its imports light
    from django.http import HttpRequest, HttpResponse

# A resident's language → Django's code for it. Django calls 简体中文 zh-hans; it knows
# neither Filipino nor やさしい日本語, which get LANG_INFO entries of their own (below).
DJANGO_CODES = {
    "ja": "ja",
    "ja-easy": "ja-easy",
    "en": "en",
    "zh": "zh-hans",
    "ko": "ko",
    "vi": "vi",
    "pt-br": "pt-br",
    "fil": "fil",
    "ne": "ne",
}
# Each language named in itself, as the language chooser, the bots and alerts.models.Language
# offer it.
NAMES = {
    "ja": "日本語",
    "ja-easy": "やさしい日本語",
    "en": "English",
    "zh": "简体中文",
    "ko": "한국어",
    "vi": "Tiếng Việt",
    "pt-br": "Português",
    "fil": "Filipino",
    "ne": "नेपाली",
}
RESIDENT = [(DJANGO_CODES[language], name) for language, name in NAMES.items()]
STAFF = [("ja", NAMES["ja"]), ("en", NAMES["en"])]
# What django.conf.locale.LANG_INFO lacks (Django 5.2 ships neither), for get_language_info.
LANG_INFO = {
    "fil": {"bidi": False, "code": "fil", "name": "Filipino", "name_local": "Filipino"},
    "ja-easy": {
        "bidi": False,
        "code": "ja-easy",
        "name": "Easy Japanese",
        "name_local": "やさしい日本語",
    },
}


def django_language(language: str) -> str:
    """The Django code to activate for a resident's language ("zh" → "zh-hans")."""
    return DJANGO_CODES.get(language, language)


def resident_language(code: str | None) -> str:
    """The resident's language a Django code stands for ("zh-hans" → "zh"); Japanese for
    none or a code no resident language has."""
    for language, django_code in DJANGO_CODES.items():
        if django_code == code:
            return language
    return "ja"


def choices(user: Any) -> list[tuple[str, str]]:
    """The languages the language menu offers: staff read their pages in STAFF, everyone
    else (residents on the public pages) in RESIDENT."""
    return STAFF if getattr(user, "is_authenticated", False) else RESIDENT


def staff_language(code: str) -> str:
    """What a staff member reads who chose `code` as a resident: やさしい日本語 → 日本語,
    the other residents' languages → English."""
    if code in dict(STAFF):
        return code
    return "ja" if code.startswith("ja") else "en"


class StaffLanguageMiddleware:
    """After LocaleMiddleware and authentication: a signed-in staff member whose cookie or
    browser asks for a residents' language (set on the public map) gets their pages in a
    staff language, never a half-translated staff page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            code = translation.get_language()
            if code and code not in dict(STAFF):
                translation.activate(staff_language(code))
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def reads_japanese() -> bool:
    """Whether the active language is read in Japanese (日本語, やさしい日本語): names are
    then shown as written, else romanised."""
    return (translation.get_language() or "ja").startswith("ja")


def readable(name: str, romanised: str) -> str:
    """A place's name for the active language: as written for Japanese readers, romanised
    (Hepburn, disaster/core/readings.py) for everyone else where there is one."""
    return name if reads_japanese() or not romanised else romanised
