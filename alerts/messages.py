"""The words each recipient receives, per language and channel.

LINE carries the whole title and body. An SMS carries only what fits one message (70
characters when it holds any Japanese, 160 in plain GSM-7 letters): the level, the area,
the title and a short link to the open shelters; drafts whose SMS would not fit are refused.
Drills are prefixed 【訓練】 everywhere, so no one mistakes one for a real alert.
"""

from __future__ import annotations

from django.conf import settings

from alerts.models import Alert, Language, text_field_suffix

DRILL_PREFIX = "【訓練】"
SMS_UCS2_LIMIT = 70
SMS_GSM_LIMIT = 160
# GSM 03.38's basic alphabet (what fits 160 to a message); anything else makes it UCS-2.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

LEVEL_LABEL = {
    Language.JAPANESE: "警戒レベル{level}",
    Language.EASY_JAPANESE: "けいかいレベル{level}",
    Language.ENGLISH: "Alert level {level}",
    Language.CHINESE: "警戒等级{level}",
    Language.KOREAN: "경계레벨{level}",
    Language.VIETNAMESE: "Cấp {level}",
}
WHOLE_CITY = {
    Language.ENGLISH: "All of {city}",
    Language.VIETNAMESE: "Toàn {city}",
}
DRAWN_AREA = {
    Language.JAPANESE: "指定区域",
    Language.EASY_JAPANESE: "してい した ばしょ",
    Language.ENGLISH: "Marked area",
    Language.CHINESE: "指定区域",
    Language.KOREAN: "지정 구역",
    Language.VIETNAMESE: "Khu vực chỉ định",
}


def sms_limit(text: str) -> int:
    """How many characters one SMS holds for this text."""
    return SMS_GSM_LIMIT if set(text) <= _GSM7 else SMS_UCS2_LIMIT


def short_link(alert: Alert) -> str:
    return f"{settings.PUBLIC_BASE_URL}/a/{alert.pk or 0}"


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
    alert: Alert, language: str, channel: str, district_names: list[str] | None = None
) -> str:
    """What one recipient reads: in their language, falling back to Japanese."""
    prefix = DRILL_PREFIX if alert.is_drill else ""
    title = alert.title(language)
    if channel == "sms":
        level = ""
        if alert.level:
            label = LEVEL_LABEL.get(language, LEVEL_LABEL[Language.JAPANESE])
            level = label.format(level=alert.level) + " "
        area = area_name(alert, language, district_names)
        return f"{prefix}{level}{area}: {title} {short_link(alert)}"
    return f"{prefix}{title}\n\n{alert.body(language)}\n\n{short_link(alert)}"


def sms_too_long(alert: Alert, district_names: list[str]) -> dict[str, str]:
    """Field errors for the languages whose SMS would not fit one message."""
    errors = {}
    for language in Language.values:
        field = f"title_{text_field_suffix(language)}"
        if language != Language.JAPANESE and not getattr(alert, field):
            continue  # falls back to Japanese, checked there
        text = message_text(alert, language, "sms", district_names)
        if len(text) > (limit := sms_limit(text)):
            errors[field] = (
                f"SMS が {len(text)} 文字になり、1通（{limit} 文字）に収まりません。"
                "件名を短くしてください。"
            )
    return errors
