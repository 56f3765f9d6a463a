"""The words each recipient receives, per language and channel.

LINE carries the whole title and body. An SMS carries only what fits one message (70
characters when it holds any Japanese, 160 in plain GSM-7 letters): the level, the area,
the title and a short link to the open shelters; drafts whose SMS would not fit are refused.
A language the alert has no title in gets the Japanese SMS as it is (mixing its own level
and area words with the Japanese title could overflow what the check measured).
Drills are prefixed 【訓練】 everywhere, so no one mistakes one for a real alert.
An alert that asks for a safety check (安否確認) tells each recipient how to answer: the
digits 1 / 2 / 3 texted back on either channel, or on LINE one tap on a quick-reply button
(a `safety=<alert id>:<answer>` postback); alerts/safety.py reads both.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max

from alerts.delivery.transports import OneTap
from alerts.models import Alert, Language, SafetyAnswer, text_field_suffix

DRILL_PREFIX = "【訓練】"
SMS_UCS2_LIMIT = 70
SMS_GSM_LIMIT = 160
# GSM 03.38's basic alphabet (what fits 160 to a message); anything else makes it UCS-2.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# The tables are keyed by language code: a recipient's language is the text on their row.
LEVEL_LABEL: dict[str, str] = {
    Language.JAPANESE: "警戒レベル{level}",
    Language.EASY_JAPANESE: "けいかいレベル{level}",
    Language.ENGLISH: "Alert level {level}",
    Language.CHINESE: "警戒等级{level}",
    Language.KOREAN: "경계레벨{level}",
    Language.VIETNAMESE: "Cấp {level}",
}
WHOLE_CITY: dict[str, str] = {
    Language.ENGLISH: "All of {city}",
    Language.VIETNAMESE: "Toàn {city}",
}
DRAWN_AREA: dict[str, str] = {
    Language.JAPANESE: "指定区域",
    Language.EASY_JAPANESE: "してい した ばしょ",
    Language.ENGLISH: "Marked area",
    Language.CHINESE: "指定区域",
    Language.KOREAN: "지정 구역",
    Language.VIETNAMESE: "Khu vực chỉ định",
}

# The safety-check question: in full on LINE, in a few characters on an SMS.
SAFETY_PROMPT: dict[str, str] = {
    Language.JAPANESE: "安否を数字で返信してください: 1 避難した / 2 自宅で無事 / 3 助けが必要",
    Language.EASY_JAPANESE: "すうじ で へんじ して ください: 1 にげた / 2 ぶじ / 3 たすけて",
    Language.ENGLISH: "Reply with a number: 1 evacuated / 2 safe at home / 3 need help",
    Language.CHINESE: "请回复数字: 1 已避难 / 2 在家平安 / 3 需要帮助",
    Language.KOREAN: "숫자로 답장해 주세요: 1 대피함 / 2 집에서 안전 / 3 도움 필요",
    Language.VIETNAMESE: "Trả lời bằng số: 1 đã sơ tán / 2 an toàn ở nhà / 3 cần giúp đỡ",
}
SAFETY_SMS: dict[str, str] = {
    Language.JAPANESE: "返信:1避難 2無事 3救助",
    Language.EASY_JAPANESE: "へんじ 1にげた 2ぶじ 3たすけて",
    Language.ENGLISH: "Reply 1 evacuated 2 safe 3 help",
    Language.CHINESE: "回复:1已避难 2平安 3求助",
    Language.KOREAN: "답장:1대피 2안전 3도움",
    Language.VIETNAMESE: "Đáp 1 sơ tán 2 an toàn 3 cứu",
}

# The same three answers as LINE quick-reply buttons (labels at most 20 characters).
SAFETY_BUTTONS: dict[str, tuple[str, str, str]] = {
    Language.JAPANESE: ("避難した", "自宅で無事", "助けが必要"),
    Language.EASY_JAPANESE: ("にげた", "いえ で ぶじ", "たすけて"),
    Language.ENGLISH: ("Evacuated", "Safe at home", "Need help"),
    Language.CHINESE: ("已避难", "在家平安", "需要帮助"),
    Language.KOREAN: ("대피함", "집에서 안전", "도움 필요"),
    Language.VIETNAMESE: ("Đã sơ tán", "An toàn ở nhà", "Cần giúp đỡ"),
}

# The nearest suitable open shelter for the recipient's district (alerts/drafting.py
# nearest_by_district): a line on LINE, a few characters on an SMS when they still fit.
SHELTER_LINE: dict[str, str] = {
    Language.JAPANESE: "最寄りの開設中の避難所: {name}",
    Language.EASY_JAPANESE: "ちかく の ひなんじょ: {name}",
    Language.ENGLISH: "Nearest open shelter: {name}",
    Language.CHINESE: "最近的开放避难所: {name}",
    Language.KOREAN: "가까운 대피소: {name}",
    Language.VIETNAMESE: "Nơi sơ tán gần nhất: {name}",
}
SHELTER_SMS: dict[str, str] = {
    Language.JAPANESE: "避難所:{name}",
    Language.EASY_JAPANESE: "ひなんじょ:{name}",
    Language.ENGLISH: "Shelter: {name}",
    Language.CHINESE: "避难所:{name}",
    Language.KOREAN: "대피소:{name}",
    Language.VIETNAMESE: "Nơi sơ tán: {name}",
}


def shelter_name(shelter: dict[str, str], language: str) -> str:
    """The shelter's name as a reader of `language` finds it on signs: Japanese readers get
    the Japanese name, others the romanised one when there is one."""
    japanese = language in (Language.JAPANESE, Language.EASY_JAPANESE)
    return shelter["name"] if japanese or not shelter.get("name_en") else shelter["name_en"]


def safety_answers(alert: Alert, language: str) -> tuple[OneTap, ...]:
    """The one-tap safety answers for a recipient reading `language` (none when the alert
    does not ask): evacuated / safe at home / need help, in the order the prompt numbers them."""
    if not alert.asks_safety:
        return ()
    labels = SAFETY_BUTTONS.get(language, SAFETY_BUTTONS[Language.JAPANESE])
    return tuple(
        OneTap(label, f"safety={alert.pk}:{kind}")
        for kind, label in zip(SafetyAnswer.Answer.values, labels, strict=True)
    )


def sms_limit(text: str) -> int:
    """How many characters one SMS holds for this text."""
    return SMS_GSM_LIMIT if set(text) <= _GSM7 else SMS_UCS2_LIMIT


def sms_length(text: str) -> int:
    """The length an SMS counts: UCS-2 units when not plain GSM-7 (an emoji takes two)."""
    return len(text) if set(text) <= _GSM7 else len(text.encode("utf-16-le")) // 2


def fits_one_sms(text: str) -> bool:
    return sms_length(text) <= sms_limit(text)


def short_link(alert: Alert, alert_id: int | None = None) -> str:
    return f"{settings.PUBLIC_BASE_URL}/a/{alert_id or alert.pk or 0}"


def area_name(alert: Alert, language: str, district_names: list[str] | None = None) -> str:
    """The target area in a few words: the city, the districts, or "the marked area"."""
    if alert.whole_city:
        return WHOLE_CITY.get(language, "{city}").format(city=settings.CITY_NAME)
    if district_names is None:
        district_names = [d.name for d in alert.districts.all()] if alert.pk else []
    names = "・".join(district_names[:2]) + ("ほか" if len(district_names) > 2 else "")
    if alert.area is not None:
        drawn = DRAWN_AREA.get(language, DRAWN_AREA[Language.JAPANESE])
        return f"{names}・{drawn}" if names else drawn
    return names


def message_text(
    alert: Alert,
    language: str,
    channel: str,
    district_names: list[str] | None = None,
    *,
    alert_id: int | None = None,
    shelter: dict[str, str] | None = None,
) -> str:
    """What one recipient reads: in their language, falling back to Japanese. `alert_id`
    stands in for the id of an alert not saved yet (its link's length counts). `shelter`:
    the nearest open shelter for the recipient's district, named on LINE always and in an
    SMS when it still fits one message."""
    prefix = DRILL_PREFIX if alert.is_drill else ""
    title = alert.title(language)
    link = short_link(alert, alert_id)
    if channel == "sms":
        if not getattr(alert, f"title_{text_field_suffix(language)}", ""):
            language = Language.JAPANESE
        level = ""
        if alert.level:
            label = LEVEL_LABEL.get(language, LEVEL_LABEL[Language.JAPANESE])
            level = label.format(level=alert.level) + " "
        area = area_name(alert, language, district_names)
        ask = f" {SAFETY_SMS.get(language, SAFETY_SMS[Language.JAPANESE])}"
        text = f"{prefix}{level}{area}: {title} {link}{ask if alert.asks_safety else ''}"
        if shelter:
            label = SHELTER_SMS.get(language, SHELTER_SMS[Language.JAPANESE])
            longer = f"{text} {label.format(name=shelter_name(shelter, language))}"
            if fits_one_sms(longer):  # else the link leads to the shelters
                return longer
        return text
    ask = f"\n\n{SAFETY_PROMPT.get(language, SAFETY_PROMPT[Language.JAPANESE])}"
    body = alert.body(language) + (ask if alert.asks_safety else "")
    near = ""
    if shelter:
        label = SHELTER_LINE.get(language, SHELTER_LINE[Language.JAPANESE])
        near = f"\n\n{label.format(name=shelter_name(shelter, language))}"
    return f"{prefix}{title}\n\n{body}{near}\n\n{link}"


def sms_too_long(alert: Alert, district_names: list[str]) -> dict[str, str]:
    """Field errors for the languages whose SMS would not fit one message (the others get
    the Japanese one); an unsaved draft's link is measured with the id it will get."""
    alert_id = alert.pk or (Alert.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    errors = {}
    for language in Language.values:
        field = f"title_{text_field_suffix(language)}"
        if language != Language.JAPANESE and not getattr(alert, field):
            continue  # gets the Japanese SMS, checked there
        text = message_text(alert, language, "sms", district_names, alert_id=alert_id)
        if not fits_one_sms(text):
            errors[field] = (
                f"SMS が {sms_length(text)} 文字になり、"
                f"1通（{sms_limit(text)} 文字）に収まりません。件名を短くしてください。"
            )
    return errors
