"""A level-4 order drafted in Japanese only, approved and sent through the fake LINE and
Twilio servers, reaches one subscriber per language in that language: the level and the
action first, the shelter by its romanised name, the staff's Japanese marked as such."""

from __future__ import annotations

import pytest

from alerts.delivery import fanout
from alerts.delivery.wording import words
from alerts.models import Alert, Language
from tests.alerts.test_nearest_shelter import EAST_BOX, alert_for, district, resident, shelter

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_LINE = {
    Language.JAPANESE: "【警戒レベル4】避難指示",
    Language.ENGLISH: "Alert Level 4: Evacuation Instruction (Hinan Shiji)",
    Language.CHINESE: "警戒级别4：避难指示（Hinan Shiji）",
    Language.KOREAN: "경계 레벨4: 피난 지시 (Hinan Shiji)",
    Language.VIETNAMESE: "Cấp độ cảnh báo 4: Chỉ thị sơ tán (Hinan Shiji)",
    Language.EASY_JAPANESE: "けいかいレベル4「ひなんしじ（避難指示）」",
    Language.PORTUGUESE: "Nível de alerta 4: Instrução de evacuação (Hinan Shiji)",
    Language.FILIPINO: "Antas ng Babala 4: Utos na Lumikas (Hinan Shiji)",
    Language.NEPALI: "सतर्कता स्तर 4: सुरक्षित स्थानमा जाने निर्देशन (Hinan Shiji)",
}


SMS_START = {
    Language.JAPANESE: "警戒レベル4 避難指示",
    Language.ENGLISH: "Alert Level 4: EVACUATE NOW",
    Language.CHINESE: "警戒级别4 避难指示",
    Language.KOREAN: "경계 레벨4 피난 지시",
    Language.VIETNAMESE: "Cấp độ cảnh báo 4: SƠ TÁN NGAY",
    Language.EASY_JAPANESE: "けいかいレベル4 みんな すぐ にげて",
    Language.PORTUGUESE: "Nivel de alerta 4: EVACUEM AGORA",  # GSM-7: no accent
    Language.FILIPINO: "Antas ng Babala 4: LUMIKAS NA NGAYON",
    Language.NEPALI: "सतर्कता स्तर 4: सबैजना अहिले नै",
}


def test_a_level_4_order_reaches_every_language_in_its_own_words(fake_line, fake_twilio):
    east = district("栗原中央５丁目", EAST_BOX)
    school = shelter("栗原小学校", 139.385, 35.495, ["flood"])  # outside the flooded area
    people = {}
    for number, language in enumerate(Language.values):
        people[language] = resident(
            139.401 + number / 10_000,
            35.491,
            line=f"U{number:032x}",
            phone=f"+8190123400{number:02d}",
            language=language,
        )
    order = alert_for([east], "flood")
    Alert.objects.filter(pk=order.pk).update(title_ja="目久尻川 避難指示")

    fanout.send(order.pk)

    line = {user: text for user, text in fake_line.accepted()}
    sms = {number: body for number, body in fake_twilio.accepted()}
    assert school.name_en == "Kurihara Shogakko"
    for language, person in people.items():
        on_line, by_sms = line[person.line_user_id], sms[person.phone]
        assert on_line.split("\n")[0] == FIRST_LINE[language], language
        assert by_sms.startswith(SMS_START[language]), language
        assert f"/a/{order.pk}" in on_line and f"/a/{order.pk}" in by_sms
        if language in (Language.JAPANESE, Language.EASY_JAPANESE):
            assert "栗原小学校" in on_line and "栗原中央５丁目" in by_sms
            continue
        # The shelter as its sign reads in letters (and in Japanese beside it on LINE).
        assert "Kurihara Shogakko (栗原小学校)" in on_line
        assert "Kurihara Shogakko" in by_sms and "栗原" not in by_sms
        assert "Kurihara Chuo 5 Chome" in by_sms
        # The staff's Japanese comes last, marked as Japanese.
        marked = words(language)["from_city_in_japanese"].format(city="Zama City")
        assert on_line.endswith(f"{marked}\n目久尻川 避難指示\n直ちに避難してください")
    assert len(line) == len(sms) == len(Language.values)
