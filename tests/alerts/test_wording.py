"""The written templates (alerts/wording/<language>.toml): complete in every language, the
level and the action first on every channel, and an SMS that always carries level, action,
area and link within ALERTS_SMS_MAX_SEGMENTS in each language's own script."""

from __future__ import annotations

import unicodedata

import pytest

from alerts.delivery import messages
from alerts.delivery.wording import problems, wording, words
from alerts.models import Alert, Language
from disaster.core import readings
from disaster.core.geography import District

EVACUATIONS = [Alert.Kind.EVACUATION_3, Alert.Kind.EVACUATION_4, Alert.Kind.EVACUATION_5]
# The two longest romanised 町丁目 names of 座間市 and a production-length link.
LONGEST = ["ひばりが丘５丁目", "栗原中央５丁目"]
LONG_LINK = "https://bousai.city.zama.kanagawa.jp"
GSM_LANGUAGES = {Language.ENGLISH, Language.PORTUGUESE, Language.FILIPINO}


def plain(text: str) -> str:
    """Without accents: an SMS template may leave them out to stay in GSM-7."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def alert(kind: str = Alert.Kind.EVACUATION_4, **extra) -> Alert:
    return Alert(
        pk=123_456, kind=kind, hazard="flood", title_ja="避難指示", body_ja="本文", **extra
    )


def districts(names: list[str]) -> list[District]:
    found = [District(name=name) for name in names]
    for district in found:
        readings.fill(district)
    return found


@pytest.mark.parametrize("language", Language.values)
def test_every_language_has_every_kind_every_word_and_says_who_reviewed_it(language):
    about = wording(language)["about"]

    assert problems(language) == []
    assert about["language"] == language
    assert about["status"] in {"draft", "reviewed"} and about["sources"]
    if about["status"] == "reviewed":
        assert about["reviewed_by"]


@pytest.mark.parametrize("language", Language.values)
@pytest.mark.parametrize("kind", EVACUATIONS)
@pytest.mark.parametrize("channel", ["line", "sms"])
def test_the_level_and_the_action_come_first_on_every_channel(language, kind, channel):
    level = words(language)["level"].format(level=kind[-1])

    text = messages.message_text(alert(kind), language, channel, districts(["栗原"]))

    first, _sep, rest = text.partition("\n")
    assert plain(level) in plain(first)
    if channel == "line":  # the action on the next line, before area, shelter and link
        action = rest.partition("\n")[0]
        assert action and "http" not in action and "Kurihara" not in action
    else:
        assert plain(text).startswith(plain(level)) or text.startswith("【")


@pytest.mark.parametrize("language", Language.values)
@pytest.mark.parametrize("kind", EVACUATIONS)
def test_each_sms_carries_level_action_area_and_link_within_the_segments(language, kind, settings):
    settings.PUBLIC_BASE_URL = LONG_LINK
    order = alert(kind, asks_safety=True, is_drill=True)  # the longest it gets
    places = districts(LONGEST)

    text = messages.message_text(order, language, "sms", places)

    area = messages.area_name(order, language, places)
    assert area in text and f"{LONG_LINK}/a/123456" in text
    assert messages.sms_segments(text) <= settings.ALERTS_SMS_MAX_SEGMENTS == 3
    expected = "GSM-7" if language in GSM_LANGUAGES else "UCS-2"
    assert messages.sms_encoding(text) == expected
    if language not in (Language.JAPANESE, Language.EASY_JAPANESE):
        assert "栗原" not in text and "Kurihara Chuo 5 Chome" in text  # romanised


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # concatenated: 153 a segment
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("[" * 80, "GSM-7", 160, 1),  # an escaped character takes two septets
        ("あ" * 70, "UCS-2", 70, 1),
        ("あ" * 71, "UCS-2", 71, 2),  # 67 a segment
        ("あ" * 134, "UCS-2", 134, 2),
        ("あ" * 135, "UCS-2", 135, 3),
        ("Nível" + "a" * 65, "UCS-2", 70, 1),  # í is not in GSM 03.38
        ("🌊" * 35, "UCS-2", 70, 1),  # outside the BMP: two units each
    ],
)
def test_sms_length_and_segments_follow_the_encoding(text, encoding, units, segments):
    assert messages.sms_encoding(text) == encoding
    assert messages.sms_length(text) == units
    assert messages.sms_segments(text) == segments


def test_staff_text_in_the_readers_language_replaces_the_japanese_under_the_template():
    order = alert(title_vi="Lệnh sơ tán", body_vi="Hãy sơ tán ngay.")

    vietnamese = messages.message_text(order, "vi", "line", districts(["栗原"]))
    korean = messages.message_text(order, "ko", "line", districts(["栗原"]))

    assert vietnamese.endswith("Thông báo của Zama City:\nLệnh sơ tán\nHãy sơ tán ngay.")
    assert "本文" not in vietnamese
    assert korean.endswith("Zama City의 알림(일본어 원문):\n避難指示\n本文")
