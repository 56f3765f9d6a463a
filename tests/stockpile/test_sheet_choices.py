"""The Excel stock sheet offers its fixed lists as drop-downs: 理由 (why a count differs
from the books) and 調達区分, so that a shelter picks a word the upload accepts."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from stockpile.models import Lot, Movement
from stockpile.sheets import MAX_ROWS, parse_count_sheet, stock_sheet_xlsx


def drop_downs(content: bytes) -> dict[str, list[str]]:
    sheet = load_workbook(io.BytesIO(content)).active
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        assert validation.showErrorMessage  # anything else typed is refused, with a message
        for cell_range in validation.sqref.ranges:
            found[str(cell_range)] = validation.formula1.strip('"').split(",")
    return found


@pytest.mark.django_db
def test_the_reason_and_the_source_are_chosen_from_drop_downs(depot, water, stock_in):
    stock_in(depot, water, 40, days=100)

    found = drop_downs(stock_sheet_xlsx(depot))

    assert found == {
        f"E2:E{MAX_ROWS + 1}": [str(label) for _value, label in Lot.Source.choices],
        f"H2:H{MAX_ROWS + 1}": [str(label) for _value, label in Movement.Reason.choices],
    }
    assert "訓練で使用" in found[f"H2:H{MAX_ROWS + 1}"]


@pytest.mark.django_db
def test_a_reason_chosen_from_the_drop_down_is_read_back_on_upload(depot, water, stock_in):
    stock_in(depot, water, 40, days=100)
    book = load_workbook(io.BytesIO(stock_sheet_xlsx(depot)))
    sheet = book.active
    sheet["G2"] = 37
    sheet["H2"] = sheet.data_validations.dataValidation[1].formula1.strip('"').split(",")[2]
    out = io.BytesIO()
    book.save(out)

    (row,) = [r for r in parse_count_sheet(out.getvalue(), "在庫.xlsx") if r.item == water]

    assert (row.counted, row.reason) == (37, Movement.Reason.DAMAGED)
