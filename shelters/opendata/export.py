"""Publishing our shelters as the 推奨データセット: CSV (UTF-8 with BOM, CRLF) and GeoJSON."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from django.conf import settings

from disaster.core.cells import csv_text
from shelters.models import Shelter
from shelters.opendata.codes import (
    PREFECTURES,
    check_digit,
    city_code,
    is_code5,
    prefecture_code_of,
)
from shelters.opendata.columns import HAZARD_COLUMNS, RECOMMENDED_COLUMNS


def municipality_code_of(shelter: Shelter, default: str) -> str:
    """The 全国地方公共団体コード of the municipality a shelter belongs to, as far as we know:
    from the list it came from, else from its GSI 共通ID ("E" + the five-digit code + …)."""
    if shelter.opendata_id and re.match(r"[0-9]{6}-", shelter.opendata_id):
        return shelter.opendata_id[:6]
    for gsi_id in (shelter.gsi_site_id, shelter.gsi_shelter_id):
        if gsi_id and re.match(r"E[0-9]{5}", gsi_id) and is_code5(gsi_id[1:6]):
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


def csv_bytes(columns: Iterable[str], rows: Iterable[dict[str, str]]) -> bytes:
    """Rows as the city's open-data CSV: UTF-8 with BOM (Excel reads it as such), CRLF, text a
    spreadsheet would run as a formula made inert."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: csv_text(value) for column, value in row.items()})
    return out.getvalue().encode("utf-8-sig")


def export_csv(shelters: Iterable[Shelter]) -> bytes:
    """The 推奨データセット CSV of these shelters: UTF-8 with BOM, CRLF, the official header."""
    code = city_code()
    return csv_bytes(RECOMMENDED_COLUMNS, (recommended_row(s, code=code) for s in shelters))


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
