"""Stock sheets as Excel (.xlsx) or CSV: shelter staff already keep their counts in Excel.

The stock sheet lists every lot with its book quantity and an empty 実数 (counted) column;
the same sheet, filled in and uploaded, is a count. An uploaded count is all or nothing:
every bad row is reported with its line number and nothing is written unless all are good.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from lxml import etree
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from disaster.core import audit
from disaster.core.cells import as_text_cell, csv_text, from_csv_text
from disaster.core.errors import Invalid
from disaster.core.models import User
from stockpile import services
from stockpile.models import Depot, Item, Lot, Movement

COLUMNS = ["品目コード", "品名", "単位", "有効期限", "調達区分", "帳簿数", "実数", "理由", "メモ"]
REQUIRED = {"品目コード", "有効期限", "調達区分", "実数"}
SOURCE_LABELS = {str(label): value for value, label in Lot.Source.choices}
REASON_LABELS = {str(label): value for value, label in Movement.Reason.choices}
MAX_ROWS = 5000
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MAX_COLUMNS = 50  # the sheet has 9; room for a column or two of the shelter's own


def sheet_rows(depot: Depot) -> list[list]:
    lots = (
        Lot.objects.filter(depot=depot)
        .filter(on_hand__gt=0)
        .select_related("item")
        .order_by("item__category", "item__code", "expires_on", "source")
    )
    listed = set()
    rows = []
    for lot in lots:
        listed.add(lot.item_id)
        rows.append(
            [
                lot.item.code,
                lot.item.name_ja,
                lot.item.unit_ja,
                lot.expires_on,
                str(lot.get_source_display()),
                lot.on_hand,
                None,
                None,
                None,
            ]
        )
    # Items the depot has none of still get a line, so stock found on the shelf can be entered.
    for item in Item.objects.exclude(pk__in=listed):
        rows.append(
            [
                item.code,
                item.name_ja,
                item.unit_ja,
                None,
                str(Lot.Source.PROCURED.label),
                0,
                None,
                None,
                None,
            ]
        )
    return rows


def stock_sheet_xlsx(depot: Depot) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "在庫"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet_rows(depot):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            as_text_cell(cell)
    yellow = PatternFill("solid", fgColor="FFF2CC")
    for (cell,) in sheet.iter_rows(min_row=2, min_col=7, max_col=7):
        cell.fill = yellow  # the column to fill in
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGHI", [16, 30, 8, 12, 14, 10, 10, 16, 30], strict=True):
        sheet.column_dimensions[column].width = width
    # 調達区分 and 理由 are chosen from their lists (a drop-down in Excel), on the rows a
    # shelter may add below ours too.
    for column, labels in (("E", SOURCE_LABELS), ("H", REASON_LABELS)):
        choices = _choices(list(labels), COLUMNS["ABCDEFGHI".index(column)])
        sheet.add_data_validation(choices)
        choices.add(f"{column}2:{column}{MAX_ROWS + 1}")
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _choices(labels: list[str], column: str) -> DataValidation:
    """A drop-down of `labels` for a column; anything else typed there is refused by Excel
    with a message saying what to choose (and by the upload, whatever wrote the file)."""
    choices = DataValidation(type="list", formula1='"' + ",".join(labels) + '"', allow_blank=True)
    choices.promptTitle = column
    choices.prompt = _("一覧から選んでください。")
    choices.errorTitle = column
    choices.error = _("%(column)s は %(choices)s のいずれかです。") % {
        "column": column,
        "choices": "・".join(labels),
    }
    choices.showInputMessage = True
    choices.showErrorMessage = True
    return choices


def stock_sheet_csv(depot: Depot) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in sheet_rows(depot):
        writer.writerow(
            [
                "" if v is None else v.isoformat() if isinstance(v, dt.date) else csv_text(v)
                for v in row
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


@dataclass(frozen=True)
class CountRow:
    line: int
    item: Item
    expires_on: dt.date | None
    source: str
    counted: int
    reason: str
    note: str


def _too_many_rows() -> Invalid:
    return Invalid(_("行が多すぎます（%(max)s 行まで）。") % {"max": MAX_ROWS})


def _table(content: bytes, filename: str) -> list[list]:
    """The sheet's header and at most MAX_ROWS rows, read lazily: a sheet that declares or
    holds more is refused before the rest is read (a few hundred KB of zipped XML can hold
    a million rows), and only the first MAX_COLUMNS columns are read."""
    if filename.lower().endswith(".xlsx"):
        try:
            if _holds_more_rows_than_allowed(content):
                raise _too_many_rows()
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            if (sheet.max_row or 0) - 1 > MAX_ROWS:  # its <dimension>, read first
                raise _too_many_rows()
            rows: Iterable[Iterable] = sheet.iter_rows(
                max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True
            )
            return _at_most(rows)
        except Invalid:
            raise
        except Exception as e:  # openpyxl raises many kinds for a broken file
            raise Invalid(
                _("Excel ファイルとして読めません。"), fields={"file": str(e)[:200]}
            ) from e
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(_("文字コードを判別できません（UTF-8 か Shift_JIS で保存してください）。"))
    try:
        # newline="": lines may end in CRLF (Windows), LF or CR alone ("CSV (Macintosh)").
        return _at_most(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise Invalid(_("CSV ファイルとして読めません。"), fields={"file": str(e)[:200]}) from e


def _holds_more_rows_than_allowed(content: bytes) -> bool:
    """Whether a worksheet of the workbook holds more than MAX_ROWS rows, read no further
    than the row after the limit. openpyxl's read-only loader reads a whole sheet that does
    not declare its size (looking for a <dimension> that never comes), so a row bomb
    without one must be counted before openpyxl opens it."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with archive.open(name) as sheet:
                # No entities, no network: the file is the sender's.
                rows = etree.iterparse(
                    sheet,
                    events=("start",),
                    tag=f"{{{SHEET_NS}}}row",
                    resolve_entities=False,
                    no_network=True,
                )
                # The header and MAX_ROWS rows are allowed; one more is too many.
                if next(itertools.islice(rows, MAX_ROWS + 1, None), None) is not None:
                    return True
    return False


def _at_most(rows: Iterable[Iterable]) -> list[list]:
    table = [list(row)[:MAX_COLUMNS] for row in itertools.islice(rows, MAX_ROWS + 2)]
    if len(table) > MAX_ROWS + 1:
        raise _too_many_rows()
    return table


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip().replace("/", "-"))


def parse_count_sheet(content: bytes, filename: str) -> list[CountRow]:
    """The counted rows of an uploaded sheet; `Invalid` listing every bad row otherwise."""
    table = [row for row in _table(content, filename)]
    if not table:
        raise Invalid(_("ファイルが空です。"))
    header = [str(c or "").strip() for c in table[0]]
    missing = [c for c in COLUMNS if c in REQUIRED and c not in header]
    if missing:
        raise Invalid(
            _("必要な列がありません: %(columns)s") % {"columns": "、".join(missing)},
            fields={"file": "、".join(missing)},
        )
    at = {name: header.index(name) for name in COLUMNS if name in header}
    items = {item.code: item for item in Item.objects.all()}
    rows: list[CountRow] = []
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, dt.date | None, str | None], int] = {}  # lot → line it is on

    def cell(row, name):
        index = at.get(name)
        value = row[index] if index is not None and index < len(row) else None
        if isinstance(value, dt.date):
            return value
        return "" if value is None else from_csv_text(str(value)).strip()

    for line, row in enumerate(table[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        counted_text = cell(row, "実数")
        if counted_text == "":
            continue  # not counted: the line is left as it is
        problems = []
        item = items.get(cell(row, "品目コード"))
        if item is None:
            problems.append(
                (
                    "品目コード",
                    _("品目コード「%(code)s」はありません。") % {"code": cell(row, "品目コード")},
                )
            )
        try:
            counted = int(float(counted_text))
            if counted < 0 or counted != float(counted_text):
                raise ValueError
        except ValueError:
            problems.append(("実数", _("0 以上の整数を入力してください。")))
            counted = 0
        try:
            expires_on = _date(cell(row, "有効期限"))
        except ValueError:
            problems.append(("有効期限", _("日付は 2026-12-31 の形で入力してください。")))
            expires_on = None
        source = SOURCE_LABELS.get(cell(row, "調達区分")) or (
            cell(row, "調達区分") if cell(row, "調達区分") in Lot.Source.values else None
        )
        if source is None:
            problems.append(
                (
                    "調達区分",
                    _("調達区分は %(choices)s のいずれかです。")
                    % {"choices": "・".join(SOURCE_LABELS)},
                )
            )
        reason_text = cell(row, "理由")
        reason = REASON_LABELS.get(reason_text) or (
            reason_text if reason_text in Movement.Reason.values else ""
        )
        if reason_text and not reason:
            problems.append(
                (
                    "理由",
                    _("理由は %(choices)s のいずれかです。")
                    % {"choices": "・".join(REASON_LABELS)},
                )
            )
        key = (cell(row, "品目コード"), expires_on, source)
        if not problems and key in seen:
            problems.append(
                ("品目コード", _("%(line)s 行目と同じロットです。") % {"line": seen[key]})
            )
        seen.setdefault(key, line)
        if problems or item is None or source is None:  # a None has its problem noted
            errors.extend({"line": line, "field": f, "message": m} for f, m in problems)
            continue
        rows.append(
            CountRow(line, item, expires_on, source, counted, reason, str(cell(row, "メモ"))[:500])
        )
    if errors:
        raise Invalid(
            _("%(count)s 件の誤りがあります。どの行も取り込んでいません。")
            % {"count": len(errors)},
            fields={f"line {e['line']}: {e['field']}": e["message"] for e in errors},
            rows=errors,
        )
    return rows


@transaction.atomic
def apply_count_sheet(
    depot: Depot,
    rows: list[CountRow],
    by: User | None,
    *,
    idempotency_key: str | None = None,
    key_claimed: bool = False,
) -> list[services.Posting]:
    """Record every counted row; any refusal (a difference without a reason) undoes them all.
    Each row's movement carries a key of its own, the sheet's key and the row's line number."""
    postings: list[services.Posting] = []
    errors: list[dict[str, Any]] = []
    for row in rows:
        try:
            postings.append(
                services.count_stock(
                    depot=depot,
                    item=row.item,
                    expires_on=row.expires_on,
                    source=row.source,
                    counted=row.counted,
                    reason=row.reason,
                    note=row.note or _("棚卸表から取込"),
                    by=by,
                    idempotency_key=f"{idempotency_key}:{row.line}" if idempotency_key else None,
                    key_claimed=key_claimed,
                )
            )
        except Invalid as e:
            errors.extend(
                {
                    "line": row.line,
                    "field": "理由" if "reason" in e.fields else next(iter(e.fields), ""),
                    "message": m,
                }
                for m in e.fields.values()
            )
    if errors:  # raising out of the atomic block undoes the rows already counted
        raise Invalid(
            _("%(count)s 件の誤りがあります。どの行も取り込んでいません。")
            % {"count": len(errors)},
            fields={f"line {e['line']}: {e['field']}": e["message"] for e in errors},
            rows=errors,
        )
    # The movements are the ledger; the log keeps that a sheet was taken in, by whom.
    audit.record(
        by,
        "stock.count_sheet",
        depot,
        after={
            "depot_id": depot.pk,
            "rows": len(rows),
            "adjusted": sum(1 for p in postings if p.movements),
        },
    )
    return postings
