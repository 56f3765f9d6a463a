"""Reading a file into rows: CSV (UTF-8 or Shift_JIS) or GeoJSON, headers named loosely."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from shelters.opendata.columns import GSI_HAZARD_COLUMNS, OLD_CODE_COLUMN, RECOMMENDED_COLUMNS
from shelters.opendata.errors import ImportRejected, problem


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
                    problem(
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
            table.problems.append(problem(number, "properties", _("properties がありません。")))
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
                problem(number, "geometry", _("位置（Point の geometry）がありません。"))
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
