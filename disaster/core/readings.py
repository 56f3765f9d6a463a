"""Place names residents can read: a reading in kana and a romanised name (Hepburn) for
each shelter and district, used in every message and page not in Japanese.

Open data often has neither (GSI's shelter lists carry only the Japanese name; e-Stat's
small areas only 町丁目 names), so they are made here from the name with cutlet, a
maintained romaniser that reads the name with MeCab and UniDic (unidic-lite): it splits
"東中学校" as 東 + 中学校 (Higashi Chugakko, where a character-by-character dictionary
says "Higashinaka Gakko"), knows place names such as 四ツ谷 (Yotsuya), and writes loan
words as their English (コミュニティセンター → Community Center). Readings of place
names are irregular all the same (相武台 is Sobudai, which UniDic reads Aibudai), so a
generated value is marked as such (`readings_generated_from`) until an administrator
checks it in the admin, and is made afresh when the name changes.

Romanisation follows the Hepburn of Japanese road signs and station names: long vowels
are not written (中央 → Chuo, 丁目 → Chome), so a name matches the signs people see.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import cutlet
import jaconv

# Long vowels, as the signs leave them out: おう/おお → o, うう → u.
_LONG_VOWEL = re.compile(r"([oO])[ouOU]|([uU])[uU]")
_KANA_PARTS = re.compile(r"[\s・･　]+")
_PARTICLE = re.compile(r"([a-z]) (ga|no|ke) ([A-Za-z])", re.IGNORECASE)


@functools.cache
def _katsu() -> cutlet.Cutlet:
    """One romaniser per process: loading the dictionary takes a moment."""
    return cutlet.Cutlet("hepburn")


def _contract(word: str) -> str:
    return _LONG_VOWEL.sub(lambda m: m.group(1) or m.group(2), word)


def reading(name: str) -> str:
    """The name's reading in katakana, as UniDic reads it (digits and signs kept)."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(word.feature.kana or word.surface for word in _katsu().tagger(text))


def romanised(name: str, kana: str = "") -> str:
    """The name in Hepburn, words capitalised ("Kurihara Chuo 5 Chome"). With `kana` (a
    reading given by the open data or a person) the letters follow that reading; without,
    the name is read by the dictionary."""
    katsu = _katsu()
    if kana.strip():
        parts = [jaconv.kata2hira(p) for p in _KANA_PARTS.split(kana.strip()) if p]
        return " ".join(_contract(katsu.map_kana(p)).capitalize() for p in parts)
    text = unicodedata.normalize("NFKC", name)
    tokens = katsu.romaji_tokens(katsu.tagger(text), capitalize=True, title=True)
    out, word_starts = [], True
    for token in tokens:
        surface = token.surface if token.foreign else _contract(token.surface)
        if word_starts:  # cutlet joins some tokens into one word: capitalise its start only
            surface = surface[:1].upper() + surface[1:]
        out.append(surface + (" " if token.space else ""))
        word_starts = token.space or not surface[-1:].isalpha()
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    # が/ケ/の inside a place name joins its parts, as on signs: Sagamigaoka, Sagamino.
    return _PARTICLE.sub(lambda m: m[1] + m[2].lower() + m[3].lower(), text)


def fill(place: Any) -> list[str]:
    """Fill a shelter's or district's blank reading and romanised name from its name; the
    fields changed (for `save(update_fields=…)`). Values made for an earlier name are made
    again; values given by the open data or checked by a person are kept."""
    made_from = place.readings_generated_from
    if made_from and made_from != place.name:
        place.kana = place.name_en = ""
    changed = []
    if not place.kana:
        place.kana = reading(place.name)[: _max_length(place, "kana")]
        changed.append("kana")
    if not place.name_en:
        # Romanised from the name itself (better word breaks) unless a reading was given.
        given = "" if "kana" in changed else place.kana
        place.name_en = romanised(place.name, given)[: _max_length(place, "name_en")]
        changed.append("name_en")
    if changed:
        place.readings_generated_from = place.name
        changed.append("readings_generated_from")
    return changed


def _max_length(place: Any, field: str) -> int:
    return int(type(place)._meta.get_field(field).max_length)


def save_with_readings(place: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`save()`'s keyword arguments once the readings are filled: fields filled here are
    written even by a save limited to `update_fields`."""
    changed = fill(place)
    fields = kwargs.get("update_fields")
    if fields is not None and changed:
        kwargs = {**kwargs, "update_fields": {*fields, *changed}}
    return kwargs
