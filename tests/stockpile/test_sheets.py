"""The stock sheet as Excel or CSV: download, count into it, upload it as a count."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from disaster.core.idempotency import record_key
from disaster.core.models import IdempotentRequest
from stockpile.models import Lot, Movement
from tests.fixtures.stockpile import in_days

pytestmark = pytest.mark.django_db


def sheet_url(depot, fmt: str) -> str:
    return f"/api/v1/depots/{depot.pk}/stock-sheet?format={fmt}"


def upload(client, depot, name: str, content: bytes, key: str | None = None):
    return client.post(
        f"/api/v1/depots/{depot.pk}/count-sheet",
        {"file": SimpleUploadedFile(name, content)},
        headers={"Idempotency-Key": key} if key else {},
    )


def xlsx_of(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_of(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def test_the_excel_stock_sheet_lists_every_lot_with_its_book_quantity(
    api_as, manager_user, depot, water, rice, stock_in
):
    stock_in(depot, water, 120, days=400)
    stock_in(depot, water, 30, days=20)

    response = api_as(manager_user).get(sheet_url(depot, "xlsx"))

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:7] == ("品目コード", "品名", "単位", "有効期限", "調達区分", "帳簿数", "実数")
    lots = [(r[0], r[3].date() if r[3] else None, r[5]) for r in rows[1:]]
    assert lots == [
        ("water", in_days(20), 30),
        ("water", in_days(400), 120),
        ("alpha-rice", None, 0),  # none held: a line to enter what is found on the shelf
    ]


def test_a_filled_in_excel_sheet_is_recorded_as_a_count_with_its_reasons(
    api_as, manager_user, depot, water, stock_in
):
    stock_in(depot, water, 120, days=400)
    client = api_as(manager_user)
    book = load_workbook(io.BytesIO(client.get(sheet_url(depot, "xlsx")).content))
    sheet = book.active
    sheet["G2"] = 110
    sheet["H2"] = "破損"
    out = io.BytesIO()
    book.save(out)

    response = upload(client, depot, "count.xlsx", out.getvalue())

    assert response.status_code == 201, response.json()
    assert response.json()["rows_counted"] == 1
    assert response.json()["rows_adjusted"] == 1
    adjust = Movement.objects.get(kind=Movement.Kind.ADJUST)
    assert (adjust.quantity, adjust.reason, adjust.by) == (-10, "damaged", manager_user)
    assert Lot.objects.get(depot=depot).on_hand == 110


def test_each_adjusted_row_carries_a_key_of_its_own_made_from_the_sheets_key(
    session_as, manager_user, depot, water, stock_in
):
    stock_in(depot, water, 120, days=400)
    stock_in(depot, water, 30, days=20)
    rows = [
        ["品目コード", "有効期限", "調達区分", "実数", "理由"],
        ["water", in_days(20).isoformat(), "購入", "25", "破損"],
        ["water", in_days(400).isoformat(), "購入", "121", "発見"],
    ]

    response = upload(session_as(manager_user), depot, "count.csv", csv_of(rows), key="sheet-1")

    assert response.status_code == 201, response.json()
    claim = IdempotentRequest.objects.get(key="sheet-1")
    sheet_key = record_key(claim.principal, "sheet-1", claim.pk)
    adjusts = Movement.objects.filter(kind=Movement.Kind.ADJUST).order_by("id")
    assert [(m.quantity, m.idempotency_key) for m in adjusts] == [
        (-5, f"{sheet_key}:2"),
        (1, f"{sheet_key}:3"),
    ]


def test_a_csv_sheet_saved_by_excel_in_shift_jis_is_read(api_as, manager_user, depot, water):
    rows = [
        ["品目コード", "品名", "単位", "有効期限", "調達区分", "帳簿数", "実数", "理由", "メモ"],
        ["water", "飲料水", "L", in_days(300).strftime("%Y/%m/%d"), "寄付", "0", "48", "発見", ""],
    ]

    response = upload(api_as(manager_user), depot, "count.csv", csv_of(rows, "cp932"))

    assert response.status_code == 201, response.json()
    lot = Lot.objects.get(depot=depot)
    assert (lot.on_hand, lot.expires_on, lot.source) == (48, in_days(300), "donated")


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_counted(
    api_as, manager_user, depot, water, stock_in
):
    stock_in(depot, water, 120, days=400)
    rows = [
        ["品目コード", "有効期限", "調達区分", "実数", "理由"],
        ["water", in_days(400).isoformat(), "購入", "100", "紛失"],  # good
        ["no-such-item", "", "購入", "5", ""],
        ["water", "31/12/2030", "購入", "5", "発見"],
        ["water", "", "購入", "-3", "発見"],
        ["water", "", "盗難", "1", "なくした"],
    ]

    response = upload(api_as(manager_user), depot, "count.csv", csv_of(rows))

    assert response.status_code == 422
    found = [(r["line"], r["field"]) for r in response.json()["rows"]]
    assert found == [(3, "品目コード"), (4, "有効期限"), (5, "実数"), (6, "調達区分"), (6, "理由")]
    assert not Movement.objects.filter(kind=Movement.Kind.ADJUST).exists()
    assert Lot.objects.get(depot=depot).on_hand == 120


def test_a_difference_without_a_reason_refuses_the_whole_sheet(
    api_as, manager_user, depot, water, rice, stock_in
):
    stock_in(depot, water, 120, days=400)
    rows = [
        ["品目コード", "有効期限", "調達区分", "実数", "理由"],
        ["alpha-rice", "", "購入", "30", "発見"],
        ["water", in_days(400).isoformat(), "購入", "100", ""],
    ]

    response = upload(api_as(manager_user), depot, "count.xlsx", xlsx_of(rows))

    assert response.status_code == 422
    assert [(r["line"], r["field"]) for r in response.json()["rows"]] == [(3, "理由")]
    assert not Movement.objects.filter(kind=Movement.Kind.ADJUST).exists()


def test_a_sheet_without_the_count_column_is_refused_saying_which_columns_are_missing(
    api_as, manager_user, depot
):
    response = upload(api_as(manager_user), depot, "count.csv", csv_of([["品目コード", "品名"]]))

    assert response.status_code == 422
    assert "実数" in response.json()["message"]


def test_a_file_that_is_not_a_workbook_is_refused(api_as, manager_user, depot):
    response = upload(api_as(manager_user), depot, "count.xlsx", b"not a zip file")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


def test_a_manager_cannot_download_or_upload_another_shelters_sheet(
    api_as, manager_user, other_depot
):
    client = api_as(manager_user)

    assert client.get(sheet_url(other_depot, "csv")).status_code == 403
    assert upload(client, other_depot, "count.csv", csv_of([["実数"]])).status_code == 403
