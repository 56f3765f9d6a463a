"""Text that a spreadsheet must show as text: a shelter or item named "=HYPERLINK(…)" (or
starting with +, -, @, a tab or a carriage return) would otherwise become a live formula in
the stock sheet or the open-data CSV of whoever opens it (OWASP "CSV injection").

CSV has no cell types, so such a value gets a leading apostrophe, which spreadsheets read
as "this is text". In .xlsx a cell has a type: it is written as a text cell with Excel's
quote prefix, keeping the value itself unchanged.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_text(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet will not evaluate."""
    return "'" + value if looks_like_formula(value) else value


def from_csv_text(value: str) -> str:
    """A value as `csv_text` wrote it, back to what it was (for sheets uploaded again)."""
    return value[1:] if value.startswith("'") and looks_like_formula(value[1:]) else value


def as_text_cell(cell: Any) -> None:
    """Make an openpyxl cell holding formula-like text a text cell (openpyxl would write
    any string starting with "=" as a formula)."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
