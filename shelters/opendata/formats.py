"""The four formats read: which one a header is, and what each row says about a shelter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from shelters.opendata.codes import city_code, prefecture_code_of
from shelters.opendata.columns import GSI_HAZARD_COLUMNS, HAZARD_COLUMNS, OLD_CODE_COLUMN
from shelters.opendata.errors import ImportRejected, problem
from shelters.opendata.reading import read_table
from shelters.opendata.rows import Record, Row

# A file that is wrong throughout is not worth a hundred thousand messages.
MAX_REPORTED_PROBLEMS = 1000


def _gsi_record(row: Row, *, site: bool) -> Record | None:
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
    if not row.ok or point is None:  # no point means a problem was noted
        return None
    key_field = "gsi_site_id" if site else "gsi_shelter_id"
    return Record(row.line, key, key_field, name, address, point, values)


def _recommended_record(row: Row, *, old: bool) -> Record | None:
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
    if not row.ok or point is None:  # no point means a problem was noted
        return None
    return Record(
        row.line, f"{code}-{local_id}", "opendata_id", name, address, point, values, local_id
    )


def _old_municipality_code(row: Row, prefecture: str | None) -> str:
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
    record: Callable[[Row], Record | None]


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
        record = fmt.record(Row(line, values, problems))
        if record is None:
            continue
        if record.key in seen:
            problems.append(
                problem(
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
