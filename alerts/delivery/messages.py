"""The words each recipient receives, per language and channel.

Every message starts from its kind's written template in the recipient's language
(alerts/wording/<language>.toml, reviewed by the city): the level and the action first, then
the area, the hazard, the nearest suitable open shelter and the link. What staff typed in
Japanese (a title, a free-text detail) follows under it on LINE, marked as Japanese, unless
staff also typed that language. Place names are romanised for every reader of a language
not written in Japanese (disaster/core/readings.py), with the Japanese name beside the
shelter's on LINE, so it can be matched with the sign at the gate.

An SMS carries the template's short form (level, action, area, link), then the safety
question, the shelter and the staff's title (in the recipient's language only) while they
fit in ALERTS_SMS_MAX_SEGMENTS segments: 160 GSM-7 / 70 UCS-2 units for one, 153 / 67 per
segment when concatenated. A draft whose short form alone would not fit in some language is
refused. Drills say so first everywhere, so no one mistakes one for a real alert. An alert
that asks for a safety check (安否確認) tells each recipient how to answer: the digits
1 / 2 / 3 texted back on either channel, or on LINE one tap on a quick-reply button (a
`safety=<alert id>:<answer>` postback); alerts/delivery/safety.py reads both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gsm0338  # noqa: F401 (registers the "gsm03.38" codec)
from django.conf import settings
from django.db.models import Count, Max

from alerts.delivery.targeting import recipients
from alerts.delivery.transports import OneTap
from alerts.delivery.wording import (
    JAPANESE_SCRIPT,
    fill,
    has_wording,
    reviewed,
    wording,
    words,
)
from alerts.models import Alert, Language, SafetyAnswer
from disaster.core import readings
from disaster.core.geography import District

SMS_UCS2_LIMIT = 70
SMS_GSM_LIMIT = 160
# A concatenated SMS spends 7 septets (GSM) / 3 UCS-2 units of every segment on its header.
SMS_GSM_SEGMENT = 153
SMS_UCS2_SEGMENT = 67


# --- SMS length ----------------------------------------------------------------------------


def sms_encoding(text: str) -> str:
    """ "GSM-7" when GSM 03.38 can carry every character, else "UCS-2"."""
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return "UCS-2"
    return "GSM-7"


def sms_length(text: str) -> int:
    """The units an SMS counts: septets in GSM-7 (an escaped one such as [ or € takes two),
    UTF-16 units in UCS-2 (an emoji takes two)."""
    if sms_encoding(text) == "GSM-7":
        return len(text.encode("gsm03.38"))
    return len(text.encode("utf-16-le")) // 2


def sms_limit(text: str) -> int:
    """How many units one SMS holds for this text."""
    return SMS_GSM_LIMIT if sms_encoding(text) == "GSM-7" else SMS_UCS2_LIMIT


def sms_segments(text: str) -> int:
    """How many SMS the text goes out as (concatenated when over one)."""
    length, single = sms_length(text), sms_limit(text)
    if length <= single:
        return 1
    per_segment = SMS_GSM_SEGMENT if single == SMS_GSM_LIMIT else SMS_UCS2_SEGMENT
    return math.ceil(length / per_segment)


def fits_one_sms(text: str) -> bool:
    return sms_length(text) <= sms_limit(text)


def fits_sms(text: str) -> bool:
    """Whether an alert's SMS stays within ALERTS_SMS_MAX_SEGMENTS."""
    return sms_segments(text) <= settings.ALERTS_SMS_MAX_SEGMENTS


def sms_capacity(text: str) -> int:
    """The most units an alert's SMS in this text's encoding may take."""
    most = settings.ALERTS_SMS_MAX_SEGMENTS
    if most <= 1:
        return sms_limit(text)
    return most * (SMS_GSM_SEGMENT if sms_limit(text) == SMS_GSM_LIMIT else SMS_UCS2_SEGMENT)


# --- names ---------------------------------------------------------------------------------


def japanese_script(language: str) -> bool:
    return language in JAPANESE_SCRIPT


def city_name(language: str) -> str:
    if japanese_script(language):
        return settings.CITY_NAME
    return settings.CITY_NAME_EN or readings.romanised(settings.CITY_NAME)


def place_name(place: Any, language: str) -> str:
    """A district's or shelter's name for a reader of `language`: Japanese, or romanised
    (Hepburn) when the reader does not read Japanese. `place` is a model or a dict."""

    def get(key: str) -> str:
        value = place.get(key) if isinstance(place, dict) else getattr(place, key, "")
        return str(value or "")

    if japanese_script(language):
        return get("name")
    return get("name_en") or readings.romanised(get("name"))


def shelter_name(shelter: dict[str, str], language: str, channel: str = "sms") -> str:
    """The shelter's name as a reader of `language` finds it: romanised for readers of
    other scripts, with the Japanese of the sign beside it on LINE."""
    name = place_name(shelter, language)
    if channel == "line" and not japanese_script(language) and name != shelter.get("name"):
        return f"{name} ({shelter['name']})"
    return name


def area_name(alert: Alert, language: str, districts: Iterable[Any] | None = None) -> str:
    """The target area in a few words: the city, two districts (and others), or "the marked
    area". `districts` stands in for those of an unsaved draft."""
    said = words(language)
    if alert.whole_city:
        return said["whole_city"].format(city=city_name(language))
    if districts is None:
        districts = alert.districts.all() if alert.pk else []
    names = [place_name(d, language) for d in districts]
    text = said["separator"].join(names[:2]) + (said["and_others"] if len(names) > 2 else "")
    if alert.area is not None:
        drawn = said["drawn_area"]
        return f"{text}{said['separator']}{drawn}" if text else drawn
    return text


def hazard_name(alert: Alert, language: str) -> str:
    return str(wording(language).get("hazards", {}).get(alert.hazard, "")) if alert.hazard else ""


def short_link(alert: Alert, alert_id: int | None = None) -> str:
    return f"{settings.PUBLIC_BASE_URL}/a/{alert_id or alert.pk or 0}"


# --- the safety check ----------------------------------------------------------------------


def safety_answers(alert: Alert, language: str) -> tuple[OneTap, ...]:
    """The one-tap safety answers for a recipient reading `language` (none when the alert
    does not ask): evacuated / safe at home / need help, in the order the prompt numbers them."""
    if not alert.asks_safety:
        return ()
    labels = words(language)["safety_buttons"]
    return tuple(
        OneTap(label[:20], f"safety={alert.pk}:{kind}")
        for kind, label in zip(SafetyAnswer.Answer.values, labels, strict=True)
    )


# --- the message ---------------------------------------------------------------------------


@dataclass
class Rendered:
    """One language's message on one channel, and what it is made of."""

    text: str
    staff_language: str  # the language of the staff's text it carries ("" for none)
    dropped: list[str] = field(default_factory=list)  # SMS parts left out to fit


def _values(
    alert: Alert,
    language: str,
    channel: str,
    districts: Iterable[Any] | None,
    alert_id: int | None,
    shelter: dict[str, str] | None,
) -> dict[str, str]:
    return {
        "area": area_name(alert, language, districts),
        "hazard": hazard_name(alert, language),
        "shelter": shelter_name(shelter, language, channel) if shelter else "",
        "link": short_link(alert, alert_id),
        "city": city_name(language),
    }


def render(
    alert: Alert,
    language: str,
    channel: str,
    districts: Iterable[Any] | None = None,
    *,
    alert_id: int | None = None,
    shelter: dict[str, str] | None = None,
) -> Rendered:
    """What one recipient reads, with what it is made of (for the drafting preview)."""
    if not has_wording(language):
        language = Language.JAPANESE
    said = words(language)
    template = wording(language)["kinds"][alert.kind]
    values = _values(alert, language, channel, districts, alert_id, shelter)
    typed = alert.typed_in(language)
    staff_language = language if typed else Language.JAPANESE
    if channel == "sms":
        return _sms(alert, language, said, template["sms"], values, typed)
    parts = []
    if alert.is_drill:
        parts.append(said["drill"])
    parts.append(fill(template["line"], values))
    if alert.asks_safety:
        parts.append(said["safety"])
    header = said["from_city" if typed else "from_city_in_japanese"].format(city=values["city"])
    title, body = alert.title(staff_language), alert.body(staff_language)
    parts.append("\n".join(part for part in (header, title, body) if part))
    return Rendered("\n\n".join(parts), staff_language)


def _sms(
    alert: Alert,
    language: str,
    said: dict[str, Any],
    template: str,
    values: dict[str, str],
    typed: bool,
) -> Rendered:
    """The short form (level, action, area, link) and the safety question always; then the
    shelter and the staff's title while the SMS stays within ALERTS_SMS_MAX_SEGMENTS."""
    text = (said["drill_sms"] if alert.is_drill else "") + fill(template, values)
    if alert.asks_safety:
        text += f" {said['safety_sms']}"
    optional = []
    if values["shelter"]:
        optional.append(("shelter", said["shelter_sms"].format(shelter=values["shelter"])))
    if typed and alert.title(language):  # never Japanese in another language's SMS
        optional.append(("title", alert.title(language)))
    dropped = []
    for name, part in optional:
        longer = f"{text} {part}"
        if fits_sms(longer):  # else the link leads to it
            text = longer
        else:
            dropped.append(name)
    return Rendered(text, language if typed else "", dropped)


def headline(alert: Alert, language: str) -> tuple[str, str]:
    """What the alert is and what to do, in a resident's language, as its LINE message
    opens (the written template's first two lines: "Alert Level 4: Evacuation Instruction",
    "Everyone in a dangerous place: evacuate now."); for the alert's public page."""
    if not has_wording(language):
        language = Language.JAPANESE
    template = wording(language)["kinds"][alert.kind]["line"]
    values = _values(alert, language, "line", None, alert.pk, None)
    lines = [line for line in fill(template, values).splitlines() if line.strip()]
    return lines[0], (lines[1] if len(lines) > 1 else "")


def message_text(
    alert: Alert,
    language: str,
    channel: str,
    districts: Iterable[Any] | None = None,
    *,
    alert_id: int | None = None,
    shelter: dict[str, str] | None = None,
) -> str:
    """What one recipient reads. `alert_id` stands in for the id of an alert not saved yet
    (its link's length counts); `shelter`: the nearest open shelter for the recipient's
    district (alerts/areas.py), named on LINE always and in an SMS when it fits."""
    return render(alert, language, channel, districts, alert_id=alert_id, shelter=shelter).text


# --- what staff see before approving ------------------------------------------------------


def sms_too_long(alert: Alert, districts: list[District]) -> dict[str, str]:
    """Field errors for the languages whose SMS short form (level, action, area, link,
    safety question) would not fit in ALERTS_SMS_MAX_SEGMENTS; an unsaved draft's link is
    measured with the id it will get."""
    alert_id = alert.pk or (Alert.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    errors: dict[str, str] = {}
    most = settings.ALERTS_SMS_MAX_SEGMENTS
    for language in Language.values:
        text = message_text(alert, language, "sms", districts, alert_id=alert_id)
        if not fits_sms(text):
            name = Language(language).label
            errors.setdefault(
                "district_ids" if not alert.whole_city else "kind",
                f"{name} の SMS が {sms_length(text)} 文字になり、{most} 通分"
                f"（{sms_capacity(text)} 文字）に収まりません。対象の地区を減らしてください。",
            )
    return errors


def subscribers_by_language(alert: Alert) -> dict[str, int]:
    """How many recipients read each language (the preview lists those languages)."""
    counted = recipients(alert).values("language").annotate(n=Count("pk"))
    return {row["language"]: row["n"] for row in counted}


def previews(alert: Alert) -> list[dict[str, Any]]:
    """Every language × channel as it will be sent, with its length and SMS segments, how
    many recipients read it, and warnings where anything would reach a resident in a
    language they did not choose, or in wording nobody has reviewed yet."""
    counts = subscribers_by_language(alert)
    shown = []
    for channel in alert.channels:
        for language in Language.values:
            rendered = render(alert, language, channel)
            text = rendered.text
            warnings = []
            if not has_wording(language):
                warnings.append("no_wording")
            elif not reviewed(language):
                warnings.append("unreviewed_wording")
            if channel == "line" and rendered.staff_language != language:
                warnings.append("japanese_staff_text")
            sms = channel == "sms"
            shown.append(
                {
                    "language": language,
                    "label": Language(language).label,
                    "channel": channel,
                    "text": text,
                    "source": "staff" if alert.typed_in(language) else "template",
                    "subscribers": counts.get(language, 0),
                    "characters": sms_length(text) if sms else len(text),
                    "encoding": sms_encoding(text) if sms else None,
                    "segments": sms_segments(text) if sms else None,
                    "max_segments": settings.ALERTS_SMS_MAX_SEGMENTS if sms else None,
                    "sms_limit": sms_capacity(text) if sms else None,
                    "left_out": rendered.dropped,
                    "warnings": warnings,
                }
            )
    return shown
