"""Uploaded count sheets that are built to hurt, or only saved oddly: a row bomb is refused
before its rows are read, a CSV with old Macintosh line ends is read like any other."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from stockpile.models import Lot
from stockpile.sheets import COLUMNS
from tests.fixtures.stockpile import in_days

pytestmark = pytest.mark.django_db


def upload(client, depot, name: str, content: bytes):
    return client.post(
        f"/api/v1/depots/{depot.pk}/count-sheet", {"file": SimpleUploadedFile(name, content)}
    )


def row_bomb(rows: int, *, declared: bool) -> bytes:
    """A real workbook whose sheet holds `rows` rows of one counted line each: a few hundred
    KB zipped. With `declared`, its <dimension> says so; without, it has none."""
    book = Workbook()
    book.active.append(COLUMNS)
    out = io.BytesIO()
    book.save(out)
    line = '<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>water</t></is></c></row>'
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(COLUMNS)
    )
    dimension = f'<dimension ref="A1:I{rows + 1}"/>' if declared else ""
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'{dimension}<sheetData><row r="1">{header}</row>'
        + "".join(line.format(n=n) for n in range(2, rows + 2))
        + "</sheetData></worksheet>"
    )
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(out.getvalue())) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            target.writestr(item, data, zipfile.ZIP_DEFLATED)
    return bomb.getvalue()


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_a_row_bomb_is_refused_without_reading_its_rows(api_as, manager_user, depot, declared):
    client = api_as(manager_user)

    def refused_in(rows: int) -> float:
        bomb = row_bomb(rows, declared=declared)
        assert len(bomb) < 2_000_000
        started = time.perf_counter()
        response = upload(client, depot, "count.xlsx", bomb)
        took = time.perf_counter() - started
        assert response.status_code == 422
        assert "5000" in response.json()["message"]
        return took

    # Compared within the run, not against a clock (the machine may be busy): a sheet ten
    # times longer is refused in about the same time, since reading stops at the limit.
    # Reading all its rows took ten times as long (about 20 s for 300,000 rows).
    small, large = refused_in(30_000), refused_in(300_000)
    assert large < 3 * small + 0.5, f"30,000 rows: {small:.1f} s, 300,000 rows: {large:.1f} s"


def test_a_csv_with_macintosh_line_ends_is_read(api_as, manager_user, depot, water):
    rows = [
        ",".join(COLUMNS),
        f"water,飲料水,L,{in_days(200).isoformat()},寄付,0,24,発見,",
    ]
    content = ("\ufeff" + "\r".join(rows) + "\r").encode()

    response = upload(api_as(manager_user), depot, "count.csv", content)

    assert response.status_code == 201, response.content
    assert Lot.objects.get(depot=depot).on_hand == 24


def test_a_csv_that_cannot_be_parsed_is_a_field_error(api_as, manager_user, depot, water):
    # One cell beyond the csv module's field limit (131,072 characters).
    content = ",".join(COLUMNS).encode() + b"\nwater," + b"x" * 200_000

    response = upload(api_as(manager_user), depot, "count.csv", content)

    assert response.status_code == 422
