"""The official open data of shelters: importing it and publishing ours.

Four formats are read, told apart by their header (CSV) or properties (GeoJSON):

- GSI (国土地理院) 指定緊急避難場所 (mergeFromCity_2, with the eight hazard flags) and
  指定避難所 (mergeFromCity_1), as CSV or GeoJSON. Many facilities appear in both, under
  different 共通ID; they become one Shelter that is both.
- デジタル庁 推奨データセット 指定緊急避難場所一覧, in its current header (全国地方公共団体コード,
  ID, 名称, …, 所在地_連結表記, …) and in the older 自治体標準オープンデータセット header
  (都道府県コード又は市区町村コード, NO, 都道府県名, 市区町村名, 名称, …, 住所, 方書, …).

CSV may be UTF-8 (with or without BOM) or Shift_JIS (cp932), as city files often are.

Every import is all or nothing: the whole file is read and checked first, and one bad row
means nothing is imported and every bad row is reported with the line a person sees in a
spreadsheet (the header is line 1; for GeoJSON, the feature's position). Importing the same
file again changes nothing, each created or changed shelter is written to the audit log, and
an import never touches a shelter's status (opening a shelter is not master data).

We publish the 推奨データセット CSV (current header, UTF-8 with BOM, CRLF) and the same rows as
GeoJSON, so what we export can be imported again, here or anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disaster import audit
from disaster.errors import DomainError, Invalid
from disaster.events import publish
from shelters.models import Hazard, Shelter

# An upload larger than this is refused: the 推奨データセット of the largest city is well under
# 1 MB, and GSI's whole-country CSV is not something to load through the API.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A file that is wrong throughout is not worth a hundred thousand messages.
MAX_REPORTED_PROBLEMS = 1000

# GSI column → our hazard, in the official order.
GSI_HAZARD_COLUMNS = {
    "洪水": Hazard.FLOOD,
    "崖崩れ、土石流及び地滑り": Hazard.LANDSLIDE,
    "高潮": Hazard.STORM_SURGE,
    "地震": Hazard.EARTHQUAKE,
    "津波": Hazard.TSUNAMI,
    "大規模な火事": Hazard.LARGE_FIRE,
    "内水氾濫": Hazard.INLAND_FLOODING,
    "火山現象": Hazard.VOLCANO,
}
# The 推奨データセット names the same flags 災害種別_洪水, …
HAZARD_COLUMNS = {f"災害種別_{column}": hazard for column, hazard in GSI_HAZARD_COLUMNS.items()}

# The current 推奨データセット 指定緊急避難場所一覧 header, in its official order.
RECOMMENDED_COLUMNS = (
    "全国地方公共団体コード",
    "ID",
    "名称",
    "名称_カナ",
    "名称_英字",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "標高",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "市区町村コード",
    "地方公共団体名",
    *HAZARD_COLUMNS,
    "指定避難所との重複",
    "想定収容人数",
    "対象となる町会・自治会",
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
)
# The older header names a row by NO within the municipality given (usually) in its first
# column; the rest is much the same with 住所 for the address. Files of that time vary in
# their optional columns, so only the columns read here are listed.
OLD_CODE_COLUMN = "都道府県コード又は市区町村コード"

PREFECTURES = (  # JIS X 0401: the code of each is its position, from 01
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

# Japan, roughly: a point outside is a typing slip (or latitude and longitude swapped).
LATITUDE_RANGE = (20.0, 46.0)
LONGITUDE_RANGE = (122.0, 154.0)
MAX_CAPACITY = 1_000_000  # a wide-area evacuation park holds tens of thousands, not millions

TRUE_MARKS = {"1", "○", "◯", "〇", "true"}
FALSE_MARKS = {"", "0", "false", "×"}

_IMPORT_LOCK = zlib.crc32(b"shelters.opendata.import")  # one import at a time


# --- 全国地方公共団体コード ----------------------------------------------------------------


class CodeError(ValueError):
    """A 全国地方公共団体コード that is wrong, or damaged beyond a certain repair."""


def check_digit(code5: str) -> str:
    """The check digit of a five-digit 団体コード: digits weighted 6,5,4,3,2, summed mod 11,
    and the last digit of 11 minus that (総務省's rule)."""
    remainder = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True)) % 11
    return str((11 - remainder) % 10)


def _is_code5(code5: str) -> bool:
    # A prefecture 01–47, then 000 (the prefecture itself) or a municipality, numbered from
    # 100 (designated cities and their wards), 201 (cities), 300 (towns and villages).
    municipality = int(code5[2:])
    return 1 <= int(code5[:2]) <= 47 and (municipality == 0 or municipality >= 100)


def prefecture_code_of(text: str) -> str | None:
    """'14' for '神奈川県座間市…': the prefecture a name or an address starts with."""
    for number, name in enumerate(PREFECTURES, start=1):
        if text.startswith(name):
            return f"{number:02d}"
    return None


def repair_local_government_code(value: str, *, prefecture: str | None = None) -> str:
    """The six-digit 全国地方公共団体コード that `value` is, repairing the damage published
    files often carry: a lost leading zero ("92011" → 092011, read as a number by a
    spreadsheet), a lost check digit (the five-digit code, "14216" → 142166), or both
    ("1100" → 011002). A check digit that is there but wrong is an error, not repaired.

    A five-digit value can rarely be read both ways ("14150" is 相模原市 141500 without its
    check digit, and also a valid-looking 014150); `prefecture` ("14"), when known from the
    row, decides, and without it such a value is refused rather than guessed.
    """
    digits = unicodedata.normalize("NFKC", str(value)).strip()
    if not re.fullmatch(r"[0-9]+", digits):
        raise CodeError(_("全国地方公共団体コードは数字で記入してください。"))
    if len(digits) == 6:
        if not _is_code5(digits[:5]):
            raise CodeError(_("全国地方公共団体コードではありません。"))
        if digits[5] != check_digit(digits[:5]):
            raise CodeError(
                _("全国地方公共団体コードの検査数字が誤っています（%(code)s なら %(right)s）。")
                % {"code": digits[:5], "right": digits[:5] + check_digit(digits[:5])}
            )
        return digits
    if len(digits) == 5:
        candidates = [digits] if _is_code5(digits) else []  # lost its check digit
        with_zero = "0" + digits[:4]  # lost its leading zero: the last digit is the check
        if _is_code5(with_zero) and digits[4] == check_digit(with_zero):
            candidates.append(with_zero)
    elif len(digits) == 4:
        candidates = ["0" + digits] if _is_code5("0" + digits) else []  # lost both
    else:
        raise CodeError(_("全国地方公共団体コードは6桁です。"))
    if len(candidates) > 1 and prefecture:
        candidates = [c for c in candidates if c[:2] == prefecture] or candidates
    if not candidates:
        raise CodeError(_("全国地方公共団体コードではありません。"))
    if len(candidates) > 1:
        raise CodeError(
            _(
                "全国地方公共団体コード %(value)s は %(a)s とも %(b)s とも読めます。"
                "6桁で記入してください。"
            )
            % {
                "value": digits,
                "a": candidates[0] + check_digit(candidates[0]),
                "b": candidates[1] + check_digit(candidates[1]),
            }
        )
    return candidates[0] + check_digit(candidates[0])


def city_code() -> str:
    """This city's 全国地方公共団体コード (settings.CITY_CODE), with its check digit."""
    try:
        return repair_local_government_code(settings.CITY_CODE)
    except CodeError as e:
        raise ImproperlyConfigured(f"CITY_CODE {settings.CITY_CODE!r}: {e}") from e


# --- errors and results -----------------------------------------------------------------


class ImportRejected(Invalid):
    """The file was refused and nothing was imported. `rows` lists every bad row as
    {line, field, message}; the API answers 422 with them."""

    def __init__(self, message: Any, *, rows: Iterable[dict] = (), **extra):
        self.rows = list(rows)
        super().__init__(message, fields={"file": str(message)}, rows=self.rows, **extra)


class FileTooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = gettext_lazy("ファイルが大きすぎます。")


@dataclass
class Change:
    line: int
    action: str  # "created" or "updated"
    shelter_id: int | None
    name: str
    fields: list[str]


@dataclass
class ImportResult:
    format: str = ""
    format_label: str = ""
    dry_run: bool = False
    created: list[Shelter] = field(default_factory=list)
    updated: list[Shelter] = field(default_factory=list)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)


# --- reading a file into rows -----------------------------------------------------------


@dataclass
class Table:
    """A file's rows as {column: text}, each with the line a person would name."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    problems: list[dict] = field(default_factory=list)


def _key(name: str) -> str:
    # Header names are compared loosely: full- or half-width, stray spaces.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


KNOWN_COLUMNS = {
    _key(c): c
    for c in (
        *RECOMMENDED_COLUMNS,
        OLD_CODE_COLUMN,
        "NO",
        "都道府県名",
        "市区町村名",
        "住所",
        "方書",
        "名称_英語",
        "共通ID",
        "都道府県名及び市町村名",
        "施設・場所名",
        *GSI_HAZARD_COLUMNS,
        "指定避難所との住所同一",
        "指定緊急避難場所との住所同一",
        "その他市町村長が必要と認める事項",
        "受入対象者",
    )
}


def _canonical(name: str) -> str:
    name = name.strip().lstrip("\ufeff")
    return KNOWN_COLUMNS.get(_key(name), name)


def _decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\x00").removeprefix(b"\xef\xbb\xbf").strip():
        raise ImportRejected(_("ファイルが空です。"))
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8", "cp932"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise ImportRejected(
        _("文字コードが UTF-8 でも Shift_JIS でもありません。どちらかで保存してください。")
    )


def read_table(data: bytes) -> Table:
    """Read CSV or GeoJSON bytes into rows; the encoding and kind are found from the bytes."""
    text = _decode(data)
    if "\x00" in text:
        raise ImportRejected(
            _("ファイルに NUL 文字が含まれています。CSV か GeoJSON ではありません。")
        )
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return _read_geojson(text)
    return _read_csv(text)


def _read_csv(text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as e:
        raise ImportRejected(_("CSV として読めません: %(error)s") % {"error": e}) from e
    columns = [_canonical(c) for c in header]
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise ImportRejected(
            _("列見出しが重複しています: %(columns)s") % {"columns": "、".join(repeated)}
        )
    table = Table(columns=[c for c in columns if c], rows=[])
    # A person counts rows as a spreadsheet shows them: the header is 1, and a cell with a line
    # break inside is still one row.
    line = 1
    try:
        for cells in reader:
            line += 1
            if not any(c.strip() for c in cells):
                continue  # a blank line, or a row of empty cells as spreadsheets leave
            extra = [c for c in cells[len(columns) :] if c.strip()]
            if extra:
                table.problems.append(
                    _problem(
                        line, "", _("列見出しより列が多い行です（%(n)d 列）。") % {"n": len(cells)}
                    )
                )
            values = {
                name: cell.strip() for name, cell in zip(columns, cells, strict=False) if name
            }
            table.rows.append((line, values))
    except csv.Error as e:
        raise ImportRejected(
            _("%(line)d 行目以降が CSV として読めません: %(error)s")
            % {"line": line + 1, "error": e}
        ) from e
    return table


def _read_geojson(text: str) -> Table:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportRejected(_("GeoJSON として読めません: %(error)s") % {"error": e}) from e
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise ImportRejected(_("GeoJSON の FeatureCollection ではありません。"))
    table = Table(columns=[], rows=[])
    columns: dict[str, None] = {}
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            table.problems.append(_problem(number, "properties", _("properties がありません。")))
            continue
        values = {_canonical(str(k)): _text(v) for k, v in props.items()}
        # The geometry is where the point is; 緯度/経度 among the properties only stand in for
        # a feature without one.
        geometry = feature.get("geometry")
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            isinstance(geometry, dict)
            and geometry.get("type") == "Point"
            and isinstance(coordinates, list)
            and len(coordinates) >= 2
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
        ):
            values["経度"], values["緯度"] = (
                repr(float(coordinates[0])),
                repr(float(coordinates[1])),
            )
        elif geometry is not None or not (values.get("緯度") and values.get("経度")):
            table.problems.append(
                _problem(number, "geometry", _("位置（Point の geometry）がありません。"))
            )
            continue
        columns.update(dict.fromkeys(values))
        table.rows.append((number, values))
    table.columns = list(columns)
    return table


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _problem(line: int, column: str, message: str) -> dict:
    return {"line": line, "field": column, "message": str(message)}


# --- one row → what it says about one shelter -------------------------------------------


@dataclass
class Record:
    line: int
    key: str  # the identifier stored in `key_field`
    key_field: str  # gsi_site_id, gsi_shelter_id or opendata_id
    name: str
    address: str
    point: Point
    values: dict[str, Any]  # the other fields the row sets
    local_id: str = ""  # 推奨データセット: the list's own ID


class _Row:
    """One row's values, read with every problem noted instead of stopping at the first."""

    def __init__(self, line: int, values: dict[str, str], problems: list[dict]):
        self.line, self.values, self.problems = line, values, problems
        self.ok = True

    def problem(self, column: str, message: str) -> None:
        self.ok = False
        self.problems.append(_problem(self.line, column, message))

    def has(self, column: str) -> bool:
        return column in self.values

    def text(self, column: str, *, required: bool = False, max_length: int = 200) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.problem(column, _("%(column)sがありません。") % {"column": column})
        elif len(value) > max_length:
            self.problem(
                column,
                _("%(column)sが長すぎます（%(max)d 文字まで）。")
                % {"column": column, "max": max_length},
            )
        return value

    def flag(self, column: str) -> bool:
        value = unicodedata.normalize("NFKC", self.values.get(column, "")).strip().lower()
        if value in TRUE_MARKS:
            return True
        if value not in FALSE_MARKS:
            self.problem(
                column,
                _("%(column)sは 1 か空欄です（「%(value)s」）。")
                % {"column": column, "value": self.values[column]},
            )
        return False

    def point(self) -> Point | None:
        lat = self._number("緯度", *LATITUDE_RANGE)
        lon = self._number("経度", *LONGITUDE_RANGE)
        if lat is None or lon is None:
            return None
        return Point(lon, lat, srid=4326)

    def _number(self, column: str, low: float, high: float) -> float | None:
        raw = unicodedata.normalize("NFKC", self.values.get(column, "")).strip()
        if not raw:
            self.problem(column, _("%(column)sがありません。") % {"column": column})
            return None
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not (low <= value <= high):
            swapped = column == "緯度" and _in(raw, LONGITUDE_RANGE)
            swapped |= column == "経度" and _in(raw, LATITUDE_RANGE)
            message = _(
                "%(column)s「%(value)s」は日本国内の値（%(low)g〜%(high)g）ではありません。"
            )
            if swapped:
                message += _("緯度と経度が入れ替わっていませんか。")
            self.problem(
                column, message % {"column": column, "value": raw, "low": low, "high": high}
            )
            return None
        return value

    def count(self, column: str) -> int:
        raw = unicodedata.normalize("NFKC", self.values.get(column, "")).strip()
        digits = raw.replace(",", "").removesuffix("人").strip()
        if not digits:
            return 0
        if not digits.isascii() or not digits.isdigit() or int(digits) > MAX_CAPACITY:
            self.problem(
                column,
                _("%(column)sは人数（0〜%(max)d の整数）で記入してください（「%(value)s」）。")
                % {"column": column, "max": MAX_CAPACITY, "value": raw},
            )
            return 0
        return int(digits)

    def email(self, column: str) -> str:
        value = self.text(column, max_length=254)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                self.problem(
                    column,
                    _("%(column)s「%(value)s」はメールアドレスではありません。")
                    % {"column": column, "value": value},
                )
        return value

    def code(self, column: str, *, prefecture: str | None) -> str:
        value = self.values.get(column, "")
        if not value:
            self.problem(column, _("%(column)sがありません。") % {"column": column})
            return ""
        try:
            return repair_local_government_code(value, prefecture=prefecture)
        except CodeError as e:
            self.problem(column, f"{e}（「{value}」）")
            return ""


def _in(raw: str, bounds: tuple[float, float]) -> bool:
    try:
        return bounds[0] <= float(raw) <= bounds[1]
    except ValueError:
        return False


def _gsi_record(row: _Row, *, site: bool) -> Record | None:
    key = row.text("共通ID", required=True, max_length=40)
    name = row.text("施設・場所名", required=True)
    address = row.text("住所", required=True, max_length=300)
    point = row.point()
    values: dict[str, Any] = {"notes": row.text("備考", max_length=2000)}
    if site:
        flags = {hazard: row.flag(column) for column, hazard in GSI_HAZARD_COLUMNS.items()}
        values["hazards"] = [hazard.value for hazard, on in flags.items() if on]
    else:
        values["target_people"] = row.text("受入対象者")
    if not row.ok:
        return None
    key_field = "gsi_site_id" if site else "gsi_shelter_id"
    return Record(row.line, key, key_field, name, address, point, values)


def _recommended_record(row: _Row, *, old: bool) -> Record | None:
    """A 推奨データセット row, either generation."""
    if old:
        local_id = row.text("NO", required=True, max_length=60)
        address = row.text("住所", required=True, max_length=300)
        prefecture = prefecture_code_of(row.values.get("都道府県名", "")) or prefecture_code_of(
            address
        )
        code = _old_municipality_code(row, prefecture)
        name_en_column = "名称_英字" if row.has("名称_英字") else "名称_英語"
    else:
        local_id = row.text("ID", required=True, max_length=60)
        address = row.text("所在地_連結表記", required=True, max_length=300)
        hints = (
            row.values.get(c, "") for c in ("地方公共団体名", "所在地_都道府県", "所在地_連結表記")
        )
        prefecture = next((p for p in map(prefecture_code_of, hints) if p), None)
        code = row.code("全国地方公共団体コード", prefecture=prefecture)
        name_en_column = "名称_英字"
    name = row.text("名称", required=True)
    point = row.point()
    flags = {hazard: row.flag(column) for column, hazard in HAZARD_COLUMNS.items()}
    hazards = [hazard.value for hazard, on in flags.items() if on]
    values: dict[str, Any] = {
        # A 指定緊急避難場所 is designated for at least one hazard; a row with none is a
        # 指定避難所 only (as our own export writes such shelters).
        "hazards": hazards,
        "is_evacuation_site": bool(hazards),
        "is_shelter": row.flag("指定避難所との重複"),
    }
    optional: dict[str, tuple[str, Callable[[str], Any]]] = {
        "kana": ("名称_カナ", row.text),
        "name_en": (name_en_column, row.text),
        "phone": ("電話番号", lambda c: row.text(c, max_length=30)),
        "email": ("連絡先メールアドレス", row.email),
        "capacity": ("想定収容人数", row.count),
        "notes": ("備考", lambda c: row.text(c, max_length=2000)),
    }
    # A column the file does not have leaves that field as it is.
    values |= {attr: read(column) for attr, (column, read) in optional.items() if row.has(column)}
    if not row.ok:
        return None
    return Record(
        row.line, f"{code}-{local_id}", "opendata_id", name, address, point, values, local_id
    )


def _old_municipality_code(row: _Row, prefecture: str | None) -> str:
    # Older files often leave the code out: then the list can only be this city's own.
    if row.values.get(OLD_CODE_COLUMN):
        return row.code(OLD_CODE_COLUMN, prefecture=prefecture)
    municipality = row.values.get("市区町村名", "")
    if municipality and not municipality.endswith(settings.CITY_NAME):
        row.problem(
            OLD_CODE_COLUMN,
            _("%(column)sがないため、%(city)s 以外（%(other)s）の一覧は取り込めません。")
            % {"column": OLD_CODE_COLUMN, "city": settings.CITY_NAME, "other": municipality},
        )
        return ""
    return city_code()


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    # The columns a shelter cannot be made without. The standard also requires 電話番号 and
    # 市区町村コード, but real lists leave them out and nothing here needs them, so a file
    # without them is still read (and 電話番号 is taken when it is there).
    required: tuple[str, ...]
    id_column: str  # what tells one row from another
    record: Callable[[_Row], Record | None]


FORMATS = (
    Format(
        "gsi_site",
        "国土地理院 指定緊急避難場所データ",
        ("共通ID", "施設・場所名", "住所", *GSI_HAZARD_COLUMNS, "緯度", "経度"),
        "共通ID",
        lambda row: _gsi_record(row, site=True),
    ),
    Format(
        "gsi_shelter",
        "国土地理院 指定避難所データ",
        ("共通ID", "施設・場所名", "住所", "緯度", "経度"),
        "共通ID",
        lambda row: _gsi_record(row, site=False),
    ),
    Format(
        "recommended",
        "推奨データセット 指定緊急避難場所一覧",
        (
            "全国地方公共団体コード",
            "ID",
            "名称",
            "所在地_連結表記",
            "緯度",
            "経度",
            *HAZARD_COLUMNS,
            "指定避難所との重複",
        ),
        "ID",
        lambda row: _recommended_record(row, old=False),
    ),
    Format(
        "recommended_old",
        "自治体標準オープンデータセット 指定緊急避難場所一覧（旧形式）",
        ("NO", "名称", "住所", "緯度", "経度", *HAZARD_COLUMNS, "指定避難所との重複"),
        "NO",
        lambda row: _recommended_record(row, old=True),
    ),
)
FORMAT = {f.name: f for f in FORMATS}


def detect_format(columns: Iterable[str]) -> Format:
    """The format a header is in; a header missing columns that format needs is refused,
    naming them."""
    present = set(columns)
    if "共通ID" in present or "施設・場所名" in present:
        site = bool(present & (set(GSI_HAZARD_COLUMNS) | {"指定避難所との住所同一"}))
        found = FORMAT["gsi_site" if site else "gsi_shelter"]
    elif present & {"全国地方公共団体コード", "ID", "所在地_連結表記"}:
        found = FORMAT["recommended"]
    elif present & {"NO", "住所", OLD_CODE_COLUMN}:
        found = FORMAT["recommended_old"]
    else:
        found = max(FORMATS, key=lambda f: len(present & set(f.required)))
        if not present & set(found.required):
            found = FORMAT["recommended"]
    missing = [c for c in found.required if c not in present]
    if missing:
        raise ImportRejected(
            _("%(format)s として読むには、次の列がありません: %(columns)s")
            % {"format": found.label, "columns": "、".join(missing)},
            format=found.name,
            missing=missing,
        )
    return found


def parse(data: bytes) -> tuple[Format, list[Record]]:
    """Read and check a whole file; raise ImportRejected with every bad row, or return what
    each row says."""
    table = read_table(data)
    fmt = detect_format(table.columns)
    problems = list(table.problems)
    records: list[Record] = []
    seen: dict[str, int] = {}
    for line, values in table.rows:
        record = fmt.record(_Row(line, values, problems))
        if record is None:
            continue
        if record.key in seen:
            problems.append(
                _problem(
                    line,
                    fmt.id_column,
                    _("%(column)s「%(id)s」は %(first)d 行目と重複しています。")
                    % {
                        "column": fmt.id_column,
                        "id": record.local_id or record.key,
                        "first": seen[record.key],
                    },
                )
            )
            continue
        seen[record.key] = line
        records.append(record)
    if problems:
        problems.sort(key=lambda p: p["line"])
        message = _("%(count)d 件の誤りがあるため、何も取り込んでいません。") % {
            "count": len(problems)
        }
        if len(problems) > MAX_REPORTED_PROBLEMS:
            message += _("最初の %(n)d 件を示します。") % {"n": MAX_REPORTED_PROBLEMS}
        raise ImportRejected(
            message, rows=problems[:MAX_REPORTED_PROBLEMS], format=fmt.name, total=len(problems)
        )
    if not records:
        raise ImportRejected(_("データの行がありません。"), format=fmt.name)
    return fmt, records


# --- applying the rows ------------------------------------------------------------------


def import_file(
    source: bytes | Path | IO[bytes], *, by=None, dry_run: bool = False
) -> ImportResult:
    """Import one file of shelter open data (any format above, found from its content).

    All or nothing: a bad row anywhere raises ImportRejected and nothing is written. With
    `dry_run`, the import runs and is rolled back, so the result says exactly what it would do.
    """
    if isinstance(source, Path):
        data = source.read_bytes()
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = source.read()
    fmt, records = parse(data)
    result = ImportResult(format=fmt.name, format_label=fmt.label, dry_run=dry_run)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
        apply = _apply_gsi if fmt.name.startswith("gsi") else _apply_recommended
        for record in records:
            shelter, before = apply(record)
            _save(shelter, before, record, by, result)
        if dry_run:
            transaction.set_rollback(True)
            for change in result.changes:
                if change.action == "created":
                    change.shelter_id = None
        else:
            # Master data changed, never status: the same event as a correction by hand.
            for change in result.changes:
                if change.action == "updated":
                    publish(
                        "shelter.corrected",
                        {"shelter_id": change.shelter_id, "fields": change.fields},
                    )
    return result


def import_gsi_geojson(path: Path | str, *, by=None) -> ImportResult:
    """Import one GSI GeoJSON file (either dataset); re-importing changes nothing."""
    return import_file(Path(path), by=by)


def _locked():
    return Shelter.objects.select_for_update()


def _apply_gsi(record: Record) -> tuple[Shelter, dict | None]:
    id_field = record.key_field
    shelter = (
        _locked().filter(**{id_field: record.key}).first()
        or _locked()
        .filter(name=record.name, address=record.address, **{f"{id_field}__isnull": True})
        .first()
    )
    before = audit.snapshot(shelter) if shelter else None
    shelter = shelter or Shelter(name=record.name, address=record.address, is_shelter=False)
    setattr(shelter, id_field, record.key)
    # The two datasets sometimes place one facility a few metres apart; the shelter's own
    # record wins, so importing them in either order gives the same point.
    if id_field == "gsi_shelter_id" or not shelter.gsi_shelter_id:
        shelter.point = record.point
    shelter.notes = shelter.notes or record.values["notes"]
    if id_field == "gsi_site_id":
        shelter.is_evacuation_site = True
        shelter.hazards = record.values["hazards"]
    else:
        shelter.is_shelter = True
        shelter.target_people = record.values["target_people"]
    return shelter, before


def _apply_recommended(record: Record) -> tuple[Shelter, dict | None]:
    # Found by the list's own ID; else by GSI's 共通ID, which many cities use as their ID
    # (and which our export writes for shelters that have no ID of their own); else by name
    # and address, among shelters not yet tied to a list.
    shelter = (
        _locked().filter(opendata_id=record.key).first()
        or _locked()
        .filter(Q(gsi_site_id=record.local_id) | Q(gsi_shelter_id=record.local_id))
        .first()
        or _locked()
        .filter(name=record.name, address=record.address, opendata_id__isnull=True)
        .first()
    )
    before = audit.snapshot(shelter) if shelter else None
    shelter = shelter or Shelter()
    shelter.opendata_id = shelter.opendata_id or record.key
    shelter.name, shelter.address, shelter.point = record.name, record.address, record.point
    for name, value in record.values.items():
        setattr(shelter, name, value)
    return shelter, before


def _save(shelter: Shelter, before: dict | None, record: Record, by, result: ImportResult) -> None:
    after = audit.snapshot(shelter)
    if before == after:
        result.unchanged += 1
        return
    try:
        # The rows were checked already; this is the model's own word, in case it knows more.
        shelter.full_clean(
            exclude=["status_changed_by", "managers"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as e:
        raise ImportRejected(
            _("%(line)d 行目を取り込めません。") % {"line": record.line},
            rows=[
                _problem(record.line, name, " ".join(messages))
                for name, messages in e.message_dict.items()
            ],
        ) from e
    if before is None:
        shelter.save()
        result.created.append(shelter)
        result.changes.append(Change(record.line, "created", shelter.pk, shelter.name, []))
    else:
        # Only what the file changed is written, so an import can never touch status.
        changed = [name for name, value in after.items() if before.get(name) != value]
        shelter.save(update_fields=changed)
        result.updated.append(shelter)
        result.changes.append(Change(record.line, "updated", shelter.pk, shelter.name, changed))
    audit.record(by, "shelter.import", shelter, before=before, after=audit.snapshot(shelter))


# --- export -----------------------------------------------------------------------------


def municipality_code_of(shelter: Shelter, default: str) -> str:
    """The 全国地方公共団体コード of the municipality a shelter belongs to, as far as we know:
    from the list it came from, else from its GSI 共通ID ("E" + the five-digit code + …)."""
    if shelter.opendata_id and re.match(r"[0-9]{6}-", shelter.opendata_id):
        return shelter.opendata_id[:6]
    for gsi_id in (shelter.gsi_site_id, shelter.gsi_shelter_id):
        if gsi_id and re.match(r"E[0-9]{5}", gsi_id) and _is_code5(gsi_id[1:6]):
            return gsi_id[1:6] + check_digit(gsi_id[1:6])  # GSI writes the code without it
    return default


def export_id(shelter: Shelter, code: str) -> str:
    """The ID a shelter has in our list: its own, if it came from our list; else GSI's
    共通ID; else one made from our database id."""
    if shelter.opendata_id and shelter.opendata_id.startswith(f"{code}-"):
        return shelter.opendata_id.removeprefix(f"{code}-")
    return shelter.gsi_site_id or shelter.gsi_shelter_id or f"sonae-{shelter.pk}"


def recommended_row(shelter: Shelter, *, code: str | None = None) -> dict[str, str]:
    """One shelter as a 推奨データセット 指定緊急避難場所一覧 row (column → text)."""
    code = code or city_code()
    municipality = municipality_code_of(shelter, code)
    prefecture = prefecture_code_of(shelter.address)
    row = dict.fromkeys(RECOMMENDED_COLUMNS, "")
    row |= {
        "全国地方公共団体コード": code,
        "ID": export_id(shelter, code),
        "名称": shelter.name,
        "名称_カナ": shelter.kana,
        "名称_英字": shelter.name_en,
        "所在地_全国地方公共団体コード": municipality,
        "所在地_連結表記": shelter.address,
        "所在地_都道府県": PREFECTURES[int(prefecture) - 1] if prefecture else "",
        # str(float) is the shortest text that reads back as the same number.
        "緯度": repr(shelter.point.y),
        "経度": repr(shelter.point.x),
        "電話番号": shelter.phone,
        "連絡先メールアドレス": shelter.email,
        "市区町村コード": municipality,
        "地方公共団体名": settings.CITY_NAME,
        "指定避難所との重複": "1" if shelter.is_shelter else "",
        "想定収容人数": str(shelter.capacity) if shelter.capacity else "",
        "備考": shelter.notes,
    }
    row |= {
        column: "1" if h.value in shelter.hazards else "" for column, h in HAZARD_COLUMNS.items()
    }
    return row


def export_csv(shelters: Iterable[Shelter]) -> bytes:
    """The 推奨データセット CSV of these shelters: UTF-8 with BOM, CRLF, the official header."""
    code = city_code()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECOMMENDED_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for shelter in shelters:
        writer.writerow(recommended_row(shelter, code=code))
    return out.getvalue().encode("utf-8-sig")


def export_geojson(shelters: Iterable[Shelter]) -> dict:
    """The same rows as a GeoJSON FeatureCollection, properties named as in the CSV."""
    code = city_code()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.point.x, s.point.y]},
                "properties": recommended_row(s, code=code),
            }
            for s in shelters
        ],
    }


def export_filename(extension: str) -> str:
    """The file name the 推奨データセット suggests: <団体コード>_evacuation_space.<ext>."""
    return f"{city_code()}_evacuation_space.{extension}"
