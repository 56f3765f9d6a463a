"""Reading a validated telegram: its head (who, when, which event, which serial) and, for
the kinds Sonae understands, what it says per municipality (or river, or earthquake), in
JMA's own words.

The kinds understood are the ones a municipality acts on: 気象警報・注意報 in the H27 format
(VPWW54) and the levelled R06 format (VPWW55–…, from late May 2026), 土砂災害警戒情報,
指定河川洪水予報, 記録的短時間大雨情報, 震度速報 and 震源・震度に関する情報. Any other telegram
is read for its head only and kept as `family = "other"`.

The 警戒レベル相当 of a kind is what JMA states: the R06 format and the river forecasts say it
(「警戒レベル３相当」); for the H27 kinds, which do not, it is JMA's published correspondence
(大雨・洪水注意報 2, 大雨・洪水警報 3, 土砂災害警戒情報・高潮警報 4, 大雨特別警報 5). Nothing
here predicts anything.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from lxml import etree

JMX = "http://xml.kishou.go.jp/jmaxml1/"
IB = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/"
METE = "http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"
SEIS = "http://xml.kishou.go.jp/jmaxml1/body/seismology1/"
EB = "http://xml.kishou.go.jp/jmaxml1/elementBasis1/"
NS = {"j": JMX, "h": IB, "m": METE, "s": SEIS, "eb": EB}
QUAKE_AREA_FIELDS = (f"{{{SEIS}}}Code", f"{{{SEIS}}}Name", f"{{{SEIS}}}MaxInt")

# Families: what kind of state a telegram updates.
WEATHER = "weather"
LANDSLIDE = "landslide"
RIVER = "river"
RECORD_RAIN = "record_rain"
QUAKE = "quake"
OTHER = "other"

# Statuses that mean "not in force" (JMA's words in <Status> / <Condition>).
NOT_IN_FORCE = {"解除", "なし", "発表警報・注意報はなし"}

# Hazards, as shelters.models.Hazard names them (this package sits below shelters).
FLOOD = "flood"
LANDSLIDE_HAZARD = "landslide"
STORM_SURGE = "storm_surge"
EARTHQUAKE = "earthquake"
INLAND_FLOODING = "inland_flooding"

# JMA's correspondence of the H27 kinds to 警戒レベル (kind code → level).
H27_LEVELS = {"33": 5, "03": 3, "10": 2, "04": 3, "18": 2, "38": 4, "08": 4, "19": 2}
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
LEVEL_WORDS = re.compile(r"レベル([0-9０-９])")
TO_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
INTENSITIES = ["1", "2", "3", "4", "5-", "5+", "6-", "6+", "7"]
INTENSITY_WORDS = {
    "1": "震度１",
    "2": "震度２",
    "3": "震度３",
    "4": "震度４",
    "5-": "震度５弱",
    "5+": "震度５強",
    "6-": "震度６弱",
    "6+": "震度６強",
    "7": "震度７",
}


def intensity_rank(value: str | None) -> int:
    """0 for none or unknown, then 1 (震度1) … 9 (震度7), for comparing intensities."""
    return INTENSITIES.index(value) + 1 if value in INTENSITIES else 0


@dataclass
class NextKind:
    """What JMA expects next for a kind (a <NextKind>): its words, unchanged."""

    name: str
    at: str | None
    sentence: str


@dataclass
class AreaKind:
    """One kind of warning or information for one area, as the telegram words it."""

    area_code: str
    area_name: str
    name: str
    code: str
    status: str
    level: int | None = None
    level_words: str = ""
    condition: str = ""
    hazards: list[str] = field(default_factory=list)
    next_kinds: list[NextKind] = field(default_factory=list)
    text: str = ""  # a sentence of JMA's for this item (a river's 主文), when it has one

    @property
    def in_force(self) -> bool:
        return bool(self.name) and self.status not in NOT_IN_FORCE and "解除" not in self.name


@dataclass
class Quake:
    """An earthquake as a telegram reports it, with the intensities that concern the city."""

    origin_time: str | None = None
    place: str = ""
    magnitude: str = ""
    max_intensity: str | None = None
    regions: dict[str, str] = field(default_factory=dict)  # 細分区域 code → max intensity
    cities: dict[str, str] = field(default_factory=dict)  # 市町村 code → max intensity
    names: dict[str, str] = field(default_factory=dict)  # code → name, for both


@dataclass
class Telegram:
    """A telegram read: its head, and what it says per area (`items`) or about an earthquake."""

    control_title: str
    status: str  # 通常 / 訓練 / 試験
    editorial_office: str
    publishing_office: str
    title: str
    report_at: dt.datetime
    event_id: str
    info_type: str  # 発表 / 訂正 / 遅延 / 取消
    serial: int | None
    info_kind: str
    info_kind_version: str
    headline: str
    family: str
    sent_at: dt.datetime | None = None  # Control/DateTime
    items: list[AreaKind] = field(default_factory=list)
    rivers: list[str] = field(default_factory=list)
    quake: Quake | None = None

    @property
    def stream(self) -> str:
        """The state this telegram updates: a prefecture's warnings of one format and
        office, one 土砂災害警戒情報 or river forecast (its EventID), one earthquake."""
        if self.family == WEATHER:
            return f"{self.control_title}|{self.title}"
        if self.family == QUAKE:
            return f"quake|{self.event_id}"
        return f"{self.info_kind}|{self.event_id or self.title}"

    @property
    def order(self) -> tuple[str, int, str]:
        """Later telegrams of a stream sort later: report time, serial, then sending time."""
        sent = self.sent_at.isoformat() if self.sent_at else ""
        return (self.report_at.isoformat(), self.serial or 0, sent)


@cache
def _tags(path: str) -> tuple[str, ...]:
    """A path of child steps ("m:Area/m:Code") as the elements' qualified tags."""
    steps = (step.split(":") for step in path.split("/"))
    return tuple(f"{{{NS[prefix]}}}{name}" for prefix, name in steps)


def _iter(element: Any, tags: tuple[str, ...]) -> Iterator[Any]:
    if not tags:
        yield element
        return
    for child in element.iterchildren(tags[0]):
        yield from _iter(child, tags[1:])


def _findall(element: Any, path: str) -> list[Any]:
    """`element.findall(path, NS)` for a path of child steps, walking the children in C
    rather than through ElementPath (a quake's 震度 by municipality has ~700 of them)."""
    return list(_iter(element, _tags(path))) if element is not None else []


def _find(element: Any, path: str) -> Any:
    """`element.find(path, NS)`: along the first child of each step, and only when that
    ends early, through every branch (as ElementPath does)."""
    if element is None:
        return None
    tags = _tags(path)
    found = element
    for tag in tags:
        found = next(found.iterchildren(tag), None)
        if found is None:
            return next(_iter(element, tags), None) if len(tags) > 1 else None
    return found


def plain(value: Any) -> Any:
    """What was read (a Telegram or any part of it) as plain data for JSON: what
    `dataclasses.asdict` gives, without its deep copy of every string, which for a large
    earthquake took longer than reading the telegram."""
    if isinstance(value, str | int | float | dt.datetime) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return {f.name: plain(getattr(value, f.name)) for f in fields(value)}


def _text(element: Any, path: str) -> str:
    found = _find(element, path)
    return (found.text or "").strip() if found is not None else ""


def _all_text(element: Any, path: str) -> list[str]:
    return [(e.text or "").strip() for e in _findall(element, path)]


def _datetime(value: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _level_of(words: str) -> int | None:
    match = LEVEL_WORDS.search(words)
    return int(match[1].translate(FULL_WIDTH_DIGITS)) if match else None


def _family(info_kind: str) -> str:
    return {
        "気象警報・注意報": WEATHER,
        "土砂災害警戒情報": LANDSLIDE,
        "指定河川洪水予報": RIVER,
        "記録的短時間大雨情報": RECORD_RAIN,
        "震度速報": QUAKE,
        "地震情報": QUAKE,
        "震源速報": QUAKE,
    }.get(info_kind, OTHER)


def _level_words(level: int | None) -> str:
    return f"警戒レベル{str(level).translate(TO_FULL_WIDTH)}相当" if level else ""


def _weather_hazards(name: str, words: str) -> list[str]:
    """The hazards of a kind: from its name, and for 大雨 from JMA's condition (浸水害・土砂災害),
    attention notes (浸水警戒, 土砂災害注意 …) or, in R06, the 危険度 it is levelled by."""
    words = name + words
    hazards = []
    if "浸水" in words:
        hazards.append(INLAND_FLOODING)
    if "土砂" in words:
        hazards.append(LANDSLIDE_HAZARD)
    if "洪水" in name or "氾濫" in name:
        hazards.append(FLOOD)
    if "高潮" in name:
        hazards.append(STORM_SURGE)
    return hazards


def _next_kinds(kind: Any) -> list[NextKind]:
    return [
        NextKind(
            name=_text(nk, "m:Name"),
            at=_text(nk, "m:DateTime") or None,
            sentence=_text(nk, "m:Sentence"),
        )
        for nk in _findall(kind, "m:NextKinds/m:NextKind")
    ]


def _weather_items(body: Any) -> list[AreaKind]:
    """The municipalities' items (気象警報・注意報（市町村等）) of an H27 or R06 telegram."""
    items = []
    for warning in _findall(body, "m:Warning"):
        if warning.get("type") != "気象警報・注意報（市町村等）":
            continue
        for item in _findall(warning, "m:Item"):
            code, area = _text(item, "m:Area/m:Code"), _text(item, "m:Area/m:Name")
            for kind in _findall(item, "m:Kind"):
                name, kind_code = _text(kind, "m:Name"), _text(kind, "m:Code")
                condition = _text(kind, "m:Condition")
                significancy = " ".join(
                    _all_text(kind, "m:Property/m:SignificancyPart/m:Base/m:Significancy/m:Name")
                )
                # R06 states the level (「警戒レベル３相当」) and names it (レベル３大雨警報);
                # H27 by JMA's published correspondence of its kinds.
                level = _level_of(significancy) or _level_of(name)
                if level is None and name and "レベル" not in name:
                    level = H27_LEVELS.get(kind_code)
                level_words = significancy or _level_words(level)
                words = " ".join(
                    [
                        condition,
                        *_all_text(kind, "m:Attention/m:Note"),
                        *_all_text(kind, "m:Property/m:Type"),
                    ]
                )
                items.append(
                    AreaKind(
                        area_code=code,
                        area_name=area,
                        name=name,
                        code=kind_code,
                        status=_text(kind, "m:Status"),
                        level=level,
                        level_words=level_words,
                        condition=condition,
                        hazards=_weather_hazards(name, words),
                        next_kinds=_next_kinds(kind),
                    )
                )
    return items


def _landslide_items(body: Any) -> list[AreaKind]:
    """土砂災害警戒情報 per municipality: 警戒 is 警戒レベル４相当 (both schemes say so)."""
    items = []
    for item in _findall(body, "m:Warning/m:Item"):
        name, status = _text(item, "m:Kind/m:Name"), _text(item, "m:Kind/m:Status")
        in_force = status not in NOT_IN_FORCE
        items.append(
            AreaKind(
                area_code=_text(item, "m:Area/m:Code"),
                area_name=_text(item, "m:Area/m:Name"),
                name=name,
                code=_text(item, "m:Kind/m:Code"),
                status=status,
                level=4 if in_force else None,
                level_words="警戒レベル４相当" if in_force else "",
                hazards=[LANDSLIDE_HAZARD],
            )
        )
    return items


def _river_items(root: Any, headline: str) -> tuple[list[AreaKind], list[str]]:
    """A river forecast: its forecast area(s) with the kind (氾濫注意情報 …), the level JMA
    states in the headline (【警戒レベル２相当情報［洪水］】), and the municipalities its
    flooding would reach (浸水想定地区) as areas of their own."""
    head_items = _findall(root, "h:Head/h:Headline/h:Information")
    rivers: list[str] = []
    items = []
    level = _level_of(headline)
    body_text = _text(root, "m:Body/m:Warning/m:Item/m:Kind/m:Property/m:Text")
    for information in head_items:
        kind = _find(information, "h:Item/h:Kind")
        name, code = _text(kind, "h:Name"), _text(kind, "h:Code")
        condition = _text(kind, "h:Condition")
        areas = _findall(information, "h:Item/h:Areas/h:Area")
        if information.get("type") == "指定河川洪水予報（河川）":
            rivers.extend(_text(a, "h:Name") for a in areas)
        if information.get("type") != "指定河川洪水予報（予報区域）":
            continue
        for area in areas:
            items.append(
                AreaKind(
                    area_code=_text(area, "h:Code"),
                    area_name=_text(area, "h:Name"),
                    name=name,
                    code=code,
                    status="解除" if "解除" in name else "発表",
                    level=level,
                    level_words=_level_words(level),
                    condition=condition,
                    hazards=[FLOOD],
                    text=body_text,
                )
            )
    forecast = items[0] if items else None
    for area in _findall(root, "m:Body/m:Warning/m:Item/m:Areas/m:Area"):
        city_code = _text(area, "m:CityCode")
        if forecast is None or not city_code:
            continue
        items.append(
            AreaKind(
                area_code=city_code,
                area_name=_text(area, "m:City"),
                name=forecast.name,
                code=forecast.code,
                status=forecast.status,
                level=forecast.level,
                level_words=forecast.level_words,
                condition=forecast.condition,
                hazards=[FLOOD],
                text=forecast.text,
            )
        )
    return items, rivers


def _record_rain_items(body: Any) -> list[AreaKind]:
    return [
        AreaKind(
            area_code=_text(item, "m:Area/m:Code"),
            area_name=_text(item, "m:Area/m:Name"),
            name=_text(item, "m:Kind/m:Name"),
            code=_text(item, "m:Kind/m:Code"),
            status=_text(item, "m:Kind/m:Status"),
            hazards=[INLAND_FLOODING, LANDSLIDE_HAZARD, FLOOD],
        )
        for item in _findall(body, "m:Warning/m:Item")
    ]


def _quake(body: Any) -> Quake:
    quake = Quake()
    earthquake = _find(body, "s:Earthquake")
    if earthquake is not None:
        quake.origin_time = _text(earthquake, "s:OriginTime") or None
        quake.place = _text(earthquake, "s:Hypocenter/s:Area/s:Name")
        magnitude = _find(earthquake, "eb:Magnitude")
        if magnitude is not None:
            quake.magnitude = magnitude.get("description") or (magnitude.text or "")
    observation = _find(body, "s:Intensity/s:Observation")
    if observation is None:
        return quake
    quake.max_intensity = _text(observation, "s:MaxInt") or None
    for area in _findall(observation, "s:Pref/s:Area"):
        code, name, value = _code_name_intensity(area)
        quake.names[code] = name
        if value:
            quake.regions[code] = value
        for city in _findall(area, "s:City"):
            city_code, name, value = _code_name_intensity(city)
            quake.names[city_code] = name
            if value:
                quake.cities[city_code] = value
    return quake


def _code_name_intensity(area: Any) -> tuple[str, str, str]:
    """An <Area>'s or <City>'s Code, Name and MaxInt, in one pass over its children (a
    large earthquake lists a thousand or more municipalities)."""
    texts: dict[str, str] = {}
    for child in area.iterchildren(*QUAKE_AREA_FIELDS):
        texts.setdefault(child.tag, (child.text or "").strip())
    return tuple(texts.get(tag, "") for tag in QUAKE_AREA_FIELDS)  # type: ignore[return-value]


def parse(root: etree._Element) -> Telegram:
    """What a schema-valid telegram says (see the module docstring)."""
    head = _find(root, "h:Head")
    info_kind = _text(head, "h:InfoKind")
    serial = _text(head, "h:Serial")
    headline = _text(head, "h:Headline/h:Text")
    report_at = _datetime(_text(head, "h:ReportDateTime"))
    assert report_at is not None  # the schema requires it
    telegram = Telegram(
        control_title=_text(root, "j:Control/j:Title"),
        status=_text(root, "j:Control/j:Status"),
        editorial_office=_text(root, "j:Control/j:EditorialOffice"),
        publishing_office=_text(root, "j:Control/j:PublishingOffice"),
        sent_at=_datetime(_text(root, "j:Control/j:DateTime")),
        title=_text(head, "h:Title"),
        report_at=report_at,
        event_id=_text(head, "h:EventID"),
        info_type=_text(head, "h:InfoType"),
        serial=int(serial) if serial.isdigit() else None,
        info_kind=info_kind,
        info_kind_version=_text(head, "h:InfoKindVersion"),
        headline=headline,
        family=_family(info_kind),
    )
    body = _find(root, "m:Body")
    if telegram.family == WEATHER and body is not None:
        telegram.items = _weather_items(body)
    elif telegram.family == LANDSLIDE and body is not None:
        telegram.items = _landslide_items(body)
    elif telegram.family == RIVER:
        telegram.items, telegram.rivers = _river_items(root, headline)
    elif telegram.family == RECORD_RAIN and body is not None:
        telegram.items = _record_rain_items(body)
    elif telegram.family == QUAKE:
        seismology = _find(root, "s:Body")
        telegram.quake = _quake(seismology) if seismology is not None else Quake()
    return telegram
