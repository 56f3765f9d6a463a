"""The written templates of every alert kind in every language, read from
alerts/wording/<language>.toml: data the city reviews and corrects without touching code
(see alerts/wording/README.md for who reviews a language before use).

TOML rather than gettext catalogues: a template here is a whole message with its own line
breaks and placeholders, per kind and channel, beside the file's reviewer and the sources of
its official wording; a missing kind is an error the tests catch, where a gettext catalogue
would silently fall back to the Japanese msgid, which is the very failure (an English reader
sent Japanese) these files exist to prevent. The short strings of the residents' pages and
bots stay in gettext catalogues with the rest of the interface.
"""

from __future__ import annotations

import functools
import string
import tomllib
from pathlib import Path
from typing import Any

from alerts.models import Alert, Language

WORDING_DIR = Path(__file__).resolve().parent.parent / "wording"
KINDS = tuple(Alert.Kind.values)
WORDS = (
    "drill",
    "drill_sms",
    "level",
    "from_city",
    "from_city_in_japanese",
    "whole_city",
    "drawn_area",
    "separator",
    "and_others",
    "shelter_sms",
    "safety",
    "safety_sms",
    "safety_buttons",
)
PLACEHOLDERS = frozenset({"area", "hazard", "shelter", "link", "city"})
JAPANESE_SCRIPT = (Language.JAPANESE, Language.EASY_JAPANESE)


@functools.cache
def wording(language: str) -> dict[str, Any]:
    """The language's file, read once per process (Japanese's for an unknown language)."""
    path = WORDING_DIR / f"{language}.toml"
    if not path.exists():
        path = WORDING_DIR / f"{Language.JAPANESE}.toml"
    with path.open("rb") as file:
        return tomllib.load(file)


def words(language: str) -> dict[str, Any]:
    return wording(language)["words"]


def has_wording(language: str) -> bool:
    return (WORDING_DIR / f"{language}.toml").exists()


def reviewed(language: str) -> bool:
    """Whether a native speaker and the city checked this language's file (README.md)."""
    return has_wording(language) and wording(language)["about"].get("status") == "reviewed"


def placeholders(template: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


def fill(template: str, values: dict[str, str]) -> str:
    """The template with its placeholders filled; a line whose placeholders are all empty
    (no shelter chosen, no hazard given) is left out."""
    lines = []
    for line in template.strip("\n").split("\n"):
        names = placeholders(line)
        if names and not any(values.get(name) for name in names):
            continue
        lines.append(line.format(**values))
    return "\n".join(lines)


def problems(language: str) -> list[str]:
    """What is missing or wrong in a language's file (the tests require none)."""
    found = wording(language)
    errors = []
    for key in ("language", "name", "cap_language", "status", "sources"):
        if key not in found.get("about", {}):
            errors.append(f"about.{key} missing")
    for key in WORDS:
        if key not in found.get("words", {}):
            errors.append(f"words.{key} missing")
    for hazard in ("flood", "landslide", "storm_surge", "earthquake", "tsunami"):
        if hazard not in found.get("hazards", {}):
            errors.append(f"hazards.{hazard} missing")
    for kind in KINDS:
        entry = found.get("kinds", {}).get(kind)
        if entry is None:
            errors.append(f"kinds.{kind} missing")
            continue
        for channel in ("line", "sms"):
            unknown = placeholders(entry.get(channel, "")) - PLACEHOLDERS
            if channel not in entry:
                errors.append(f"kinds.{kind}.{channel} missing")
            elif unknown:
                errors.append(f"kinds.{kind}.{channel}: unknown {sorted(unknown)}")
        if kind != Alert.Kind.INFORMATION and not {"area", "link"} <= placeholders(
            entry.get("sms", "")
        ):
            errors.append(f"kinds.{kind}.sms must carry {{area}} and {{link}}")
    return errors
