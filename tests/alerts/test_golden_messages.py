"""Every alert kind in every language, rendered as residents receive it on LINE and by SMS
from a demo-like alert (a flood order for two 町丁目 of 座間市, the nearest open shelter
栗原小学校), compared with the files in tests/alerts/golden/, one per kind and language.
Each file was read once by eye; a change of wording shows up here as a diff to review.
`UPDATE_GOLDEN=1 pytest tests/alerts/test_golden_messages.py` writes them anew."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alerts.delivery import messages
from alerts.models import Alert, Language
from disaster.core import readings
from disaster.core.geography import District

GOLDEN = Path(__file__).parent / "golden"
# Every kind, and a level-4 order sent as a drill (a drill is a state, not a kind).
CASES = [*Alert.Kind.values, "drill"]


def demo_alert(case: str) -> tuple[Alert, list[District], dict[str, str]]:
    alert = Alert(
        pk=4321,
        kind=Alert.Kind.EVACUATION_4 if case == "drill" else case,
        is_drill=case == "drill",
        hazard="flood",
        title_ja="目久尻川 避難指示",
        body_ja="目久尻川の水位が上がっています。川沿いの方は直ちに避難してください。",
        channels=["line", "sms"],
        asks_safety=case == "evacuation_4",
    )
    districts = [District(name="栗原中央５丁目"), District(name="相模が丘１丁目")]
    for district in districts:
        readings.fill(district)
    shelter = {"name": "栗原小学校", "name_en": readings.romanised("栗原小学校")}
    return alert, districts, shelter


def rendered(case: str, language: str) -> str:
    alert, districts, shelter = demo_alert(case)
    carries = alert.kind in {Alert.Kind.EVACUATION_3, Alert.Kind.EVACUATION_4}
    parts = []
    for channel in ("line", "sms"):
        text = messages.message_text(
            alert, language, channel, districts, shelter=shelter if carries else None
        )
        size = ""
        if channel == "sms":
            size = (
                f" ({messages.sms_encoding(text)}, {messages.sms_length(text)} units,"
                f" {messages.sms_segments(text)} segment(s))"
            )
        parts.append(f"=== {channel}{size}\n{text}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("language", Language.values)
@pytest.mark.parametrize("case", CASES)
def test_each_kind_reads_in_each_language_as_reviewed(case, language):
    path = GOLDEN / f"{case}.{language}.txt"
    text = rendered(case, language)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")

    assert path.read_text(encoding="utf-8") == text


def test_there_is_one_golden_file_per_kind_and_language_and_no_other():
    expected = {f"{case}.{language}.txt" for case in CASES for language in Language.values}

    assert {path.name for path in GOLDEN.glob("*.txt")} == expected
