"""Official open data of shelters: GSI and 推奨データセット in, 推奨データセット CSV/GeoJSON out."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from disaster.core.models import AuditEntry
from shelters import opendata
from shelters.models import Shelter
from shelters.opendata import ImportRejected, export_csv, import_file
from shelters.opendata.codes import CodeError, check_digit, repair_local_government_code
from shelters.opendata.columns import GSI_HAZARD_COLUMNS, HAZARD_COLUMNS, RECOMMENDED_COLUMNS

DATA = Path(settings.SHARED_DATA_DIR)
ZAMA_SITES = DATA / "gsi-emergency-142166.geojson"  # 指定緊急避難場所
ZAMA_SHELTERS = DATA / "gsi-evacuation-142166.geojson"  # 指定避難所
SAGAMIHARA_SITES = DATA / "gsi-emergency-141500.geojson"

GSI_SITE_COLUMNS = [
    "NO",
    "共通ID",
    "都道府県名及び市町村名",
    "施設・場所名",
    "住所",
    *GSI_HAZARD_COLUMNS,
    "指定避難所との住所同一",
    "緯度",
    "経度",
    "備考",
]
GSI_SHELTER_COLUMNS = [
    "NO",
    "共通ID",
    "都道府県名及び市町村名",
    "施設・場所名",
    "住所",
    "指定緊急避難場所との住所同一",
    "その他市町村長が必要と認める事項",
    "受入対象者",
    "緯度",
    "経度",
    "備考",
]
OLD_COLUMNS = [
    "都道府県コード又は市区町村コード",
    "NO",
    "都道府県名",
    "市区町村名",
    "名称",
    "名称_カナ",
    "名称_英字",
    "住所",
    "方書",
    "緯度",
    "経度",
    "標高",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    *HAZARD_COLUMNS,
    "指定避難所との重複",
    "想定収容人数",
    "対象となる町会・自治会",
    "URL",
    "備考",
]


def table(columns, rows, *, encoding: str = "utf-8-sig") -> bytes:
    """A CSV file as a city would publish it."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns, lineterminator="\r\n", restval="", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def site(**values) -> dict:
    """One 推奨データセット row (current header) of a real-looking 座間市 site."""
    return {
        "全国地方公共団体コード": "142166",
        "ID": "1",
        "名称": "ひばりが丘コミュニティセンター",
        "名称_カナ": "ヒバリガオカコミュニティセンター",
        "名称_英字": "Hibarigaoka Community Center",
        "所在地_連結表記": "神奈川県座間市ひばりが丘1-49-1",
        "緯度": "35.489076",
        "経度": "139.432169",
        "電話番号": "046-255-0000",
        "連絡先メールアドレス": "bousai@example.jp",
        "市区町村コード": "142166",
        "災害種別_洪水": "1",
        "災害種別_崖崩れ、土石流及び地滑り": "1",
        "災害種別_地震": "1",
        "指定避難所との重複": "1",
        "想定収容人数": "350",
        "備考": "駐車場あり",
        **values,
    }


def gsi_csv(path: Path, columns: list[str]) -> bytes:
    """GSI's CSV of the same data as one of the GeoJSON files (緯度/経度 as columns)."""
    features = json.loads(path.read_text(encoding="utf-8-sig"))["features"]
    rows = [
        {
            **{k: "" if v is None else v for k, v in f["properties"].items()},
            "経度": f["geometry"]["coordinates"][0],
            "緯度": f["geometry"]["coordinates"][1],
        }
        for f in features
    ]
    return table(columns, rows)


def state() -> dict:
    """What the city would see of each shelter: where it is, what it is, what it serves."""
    return {
        (s.name, s.address): (s.point.coords, s.hazards, s.is_shelter, s.is_evacuation_site)
        for s in Shelter.objects.all()
    }


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


# --- 全国地方公共団体コード ----------------------------------------------------------------


@pytest.mark.parametrize("code", ["142166", "141500", "011002", "092011"])
def test_a_real_code_with_its_check_digit_is_kept(code):
    assert check_digit(code[:5]) == code[5]
    assert repair_local_government_code(code) == code


@pytest.mark.parametrize(
    ("published", "code"),
    [("92011", "092011"), ("11002", "011002"), ("9201", "092011"), ("1100", "011002")],
)
def test_a_code_that_lost_its_leading_zero_is_repaired(published, code):
    assert repair_local_government_code(published) == code


@pytest.mark.parametrize(
    ("published", "code"), [("14216", "142166"), ("09201", "092011"), ("１４２１６", "142166")]
)
def test_a_code_that_lost_its_check_digit_is_repaired(published, code):
    assert repair_local_government_code(published) == code


def test_a_code_that_reads_two_ways_is_settled_by_the_prefecture_or_refused():
    # 14150 is 相模原市 without its check digit, but 0-1415-0 also passes the check.
    assert repair_local_government_code("14150", prefecture="14") == "141500"
    with pytest.raises(CodeError, match="141500 とも 014150"):
        repair_local_government_code("14150")


@pytest.mark.parametrize("published", ["142167", "011003", "092012"])
def test_a_code_whose_check_digit_is_wrong_is_refused_not_repaired(published):
    with pytest.raises(CodeError, match="検査数字"):
        repair_local_government_code(published)


@pytest.mark.parametrize("published", ["", "14-216", "1421660", "999999", "482011"])
def test_what_is_not_a_code_is_refused(published):
    with pytest.raises(CodeError):
        repair_local_government_code(published)


# Five-digit codes: a prefecture 01–47, then the prefecture itself (000) or a municipality.
CODES = st.builds(
    lambda prefecture, municipality: f"{prefecture:02d}{municipality:03d}",
    st.integers(1, 47),
    st.one_of(st.just(0), st.integers(100, 999)),
)


@given(CODES)
def test_every_code_with_its_check_digit_is_kept_as_it_is(code5):
    assert repair_local_government_code(code5 + check_digit(code5)) == code5 + check_digit(code5)


@given(CODES, st.integers(0, 9))
def test_every_other_check_digit_is_refused(code5, digit):
    if str(digit) != check_digit(code5):
        with pytest.raises(CodeError):
            repair_local_government_code(f"{code5}{digit}")


@given(CODES)
def test_a_damaged_code_comes_back_whole_when_its_prefecture_is_known(code5):
    code = code5 + check_digit(code5)
    damaged = [code5] + ([code[1:], code5[1:]] if code.startswith("0") else [])
    for published in damaged:
        assert repair_local_government_code(published, prefecture=code[:2]) == code


@given(CODES)
def test_a_damaged_code_is_repaired_to_itself_or_refused_never_to_another(code5):
    code = code5 + check_digit(code5)
    damaged = [code5] + ([code[1:], code5[1:]] if code.startswith("0") else [])
    for published in damaged:
        try:
            assert repair_local_government_code(published) == code
        except CodeError as e:
            assert "とも" in str(e)  # refused only as ambiguous


# --- importing 推奨データセット -----------------------------------------------------------


def test_a_recommended_dataset_row_becomes_a_shelter_with_every_column_mapped(db):
    result = import_file(table(RECOMMENDED_COLUMNS, [site(全国地方公共団体コード="14216")]))

    shelter = Shelter.objects.get()
    assert result.format == "recommended"
    assert result.created == [shelter]
    assert shelter.opendata_id == "142166-1"  # the code repaired, the ID kept per city
    assert shelter.name == "ひばりが丘コミュニティセンター"
    assert shelter.kana == "ヒバリガオカコミュニティセンター"
    assert shelter.name_en == "Hibarigaoka Community Center"
    assert shelter.address == "神奈川県座間市ひばりが丘1-49-1"
    assert shelter.point.coords == (139.432169, 35.489076)
    assert shelter.phone == "046-255-0000"
    assert shelter.email == "bousai@example.jp"
    assert shelter.capacity == 350
    assert shelter.is_shelter and shelter.is_evacuation_site
    assert shelter.hazards == ["flood", "landslide", "earthquake"]
    assert shelter.notes == "駐車場あり"
    assert shelter.status == Shelter.Status.CLOSED


def test_the_older_generation_header_in_shift_jis_is_read_too(db):
    row = {
        "都道府県コード又は市区町村コード": "14216",
        "NO": "7",
        "都道府県名": "神奈川県",
        "市区町村名": "座間市",
        "名称": "座間市立栗原小学校",
        "名称_カナ": "ザマシリツクリハラショウガッコウ",
        "住所": "神奈川県座間市栗原中央6-4-1",
        "緯度": "35.4900",
        "経度": "139.4000",
        "電話番号": "046-251-0000",
        "災害種別_地震": "○",
        "災害種別_大規模な火事": "1",
        "指定避難所との重複": "1",
        "想定収容人数": "1,200人",
    }

    result = import_file(table(OLD_COLUMNS, [row], encoding="cp932"))

    shelter = Shelter.objects.get()
    assert result.format == "recommended_old"
    assert shelter.opendata_id == "142166-7"
    assert (shelter.name, shelter.kana) == (
        "座間市立栗原小学校",
        "ザマシリツクリハラショウガッコウ",
    )
    assert shelter.address == "神奈川県座間市栗原中央6-4-1"
    assert shelter.hazards == ["earthquake", "large_fire"]
    assert shelter.capacity == 1200


def test_an_older_file_without_codes_is_taken_as_this_citys_own_list_only(db, settings):
    columns = [c for c in OLD_COLUMNS if c != "都道府県コード又は市区町村コード"]
    row = {"NO": "1", "名称": "A", "住所": "座間市1", "緯度": "35.5", "経度": "139.4"}

    import_file(table(columns, [{**row, "市区町村名": "座間市"}]))
    assert Shelter.objects.get().opendata_id == "142166-1"

    with pytest.raises(ImportRejected) as refused:
        import_file(table(columns, [{**row, "市区町村名": "相模原市"}]))
    assert refused.value.rows[0]["field"] == "都道府県コード又は市区町村コード"


def test_headers_are_matched_whatever_the_width_of_their_characters(db):
    columns = [c.replace("(", "（").replace(")", "）") for c in RECOMMENDED_COLUMNS]
    columns[columns.index("名称_カナ")] = "名称＿カナ"
    content = table(RECOMMENDED_COLUMNS, [site()]).decode("utf-8-sig")
    content = content.replace(",".join(RECOMMENDED_COLUMNS), ",".join(columns), 1)

    import_file(content.encode("utf-8"))

    assert Shelter.objects.get().kana == "ヒバリガオカコミュニティセンター"


# --- importing GSI ----------------------------------------------------------------------


def test_both_gsi_datasets_merge_into_one_shelter_per_facility(db):
    import_file(ZAMA_SHELTERS)
    import_file(ZAMA_SITES)

    hibarigaoka = Shelter.objects.get(name="ひばりが丘コミュニティセンター")
    assert hibarigaoka.gsi_shelter_id == "E1421600001111"
    assert hibarigaoka.gsi_site_id == "E1421600001201"
    assert hibarigaoka.is_shelter and hibarigaoka.is_evacuation_site
    assert hibarigaoka.hazards == ["flood", "landslide"]
    assert Shelter.objects.filter(is_shelter=True).count() == 35
    assert Shelter.objects.filter(is_evacuation_site=True).count() == 59


def test_gsi_csv_gives_the_same_shelters_as_gsi_geojson(db):
    import_file(ZAMA_SHELTERS)
    import_file(ZAMA_SITES)
    from_geojson = state()
    Shelter.objects.all().delete()

    first = import_file(gsi_csv(ZAMA_SHELTERS, GSI_SHELTER_COLUMNS))
    second = import_file(gsi_csv(ZAMA_SITES, GSI_SITE_COLUMNS))

    assert (first.format, second.format) == ("gsi_shelter", "gsi_site")
    assert state() == from_geojson


def test_the_old_name_of_the_gsi_import_still_works_for_the_demo(db):
    result = opendata.import_gsi_geojson(SAGAMIHARA_SITES)

    assert len(result.created) == 167
    assert Shelter.objects.filter(gsi_site_id__startswith="E14150").count() == 167


# --- all or nothing ---------------------------------------------------------------------


def test_a_file_with_several_bad_rows_reports_every_one_and_imports_nothing(db):
    rows = [
        site(ID="1"),
        site(ID="2", 名称=""),  # line 3
        site(ID="3", 緯度="北緯35度"),  # line 4
        site(ID="4", 災害種別_洪水="はい"),  # line 5
        site(ID="5", 全国地方公共団体コード="142167"),  # line 6
        site(ID="1", 名称="別の施設"),  # line 7: the ID of line 2 again
        site(ID="7", 緯度="139.4", 経度="35.5"),  # line 8: swapped
        site(ID="8", 連絡先メールアドレス="bousai@"),  # line 9
        site(ID="9", 想定収容人数="たくさん"),  # line 10
    ]

    with pytest.raises(ImportRejected) as refused:
        import_file(table(RECOMMENDED_COLUMNS, rows))

    reported = [(r["line"], r["field"]) for r in refused.value.rows]
    assert reported == [
        (3, "名称"),
        (4, "緯度"),
        (5, "災害種別_洪水"),
        (6, "全国地方公共団体コード"),
        (7, "ID"),
        (8, "緯度"),
        (8, "経度"),
        (9, "連絡先メールアドレス"),
        (10, "想定収容人数"),
    ]
    messages = {r["line"]: r["message"] for r in refused.value.rows}
    assert "2 行目と重複" in messages[7]
    assert "入れ替わって" in messages[8]
    assert "142166" in messages[6]  # says what the code should be
    assert "何も取り込んでいません" in refused.value.message
    assert not Shelter.objects.exists()
    assert not AuditEntry.objects.exists()


def test_line_numbers_are_the_rows_a_spreadsheet_shows(db):
    rows = [site(ID="1", 備考="一階\n体育館"), site(ID="2"), site(ID="3", 経度="")]

    with pytest.raises(ImportRejected) as refused:
        import_file(table(RECOMMENDED_COLUMNS, rows))

    assert [(r["line"], r["field"]) for r in refused.value.rows] == [(4, "経度")]


def test_an_unknown_header_says_which_columns_are_missing(db):
    columns = [c for c in RECOMMENDED_COLUMNS if c not in {"緯度", "災害種別_津波"}]

    with pytest.raises(ImportRejected) as refused:
        import_file(table(columns, [site()]))

    assert refused.value.extra["missing"] == ["緯度", "災害種別_津波"]
    assert "緯度、災害種別_津波" in refused.value.message


def test_a_header_of_no_known_format_is_refused(db):
    with pytest.raises(ImportRejected) as refused:
        import_file("施設名,所在地\n公民館,座間市1\n".encode())

    assert "全国地方公共団体コード" in refused.value.extra["missing"]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n  \r\n"])
def test_an_empty_file_is_refused(db, content):
    with pytest.raises(ImportRejected, match="空"):
        import_file(content)


def test_a_header_without_rows_is_refused(db):
    with pytest.raises(ImportRejected, match="データの行がありません"):
        import_file(table(RECOMMENDED_COLUMNS, []))


def test_a_file_neither_utf8_nor_shift_jis_is_refused(db):
    content = table(RECOMMENDED_COLUMNS, [site()]).decode("utf-8-sig").encode("utf-16")

    with pytest.raises(ImportRejected, match="UTF-8 でも Shift_JIS でもありません"):
        import_file(content)


# --- re-importing, audit, status ---------------------------------------------------------


def test_importing_the_same_files_again_changes_nothing(db):
    own = site(ID="x1", 名称="座間市防災センター", 所在地_連結表記="神奈川県座間市緑ケ丘1-1-1")
    files = [ZAMA_SHELTERS, ZAMA_SITES, table(RECOMMENDED_COLUMNS, [own])]
    for content in files:
        import_file(content)
    before, entries = state(), AuditEntry.objects.count()

    again = [import_file(content) for content in files]

    assert [(len(r.created), len(r.updated)) for r in again] == [(0, 0)] * 3
    assert [r.unchanged for r in again] == [35, 59, 1]
    assert state() == before
    assert AuditEntry.objects.count() == entries


def test_every_created_or_changed_shelter_is_in_the_audit_log(db, admin_user):
    import_file(table(RECOMMENDED_COLUMNS, [site()]), by=admin_user)
    import_file(table(RECOMMENDED_COLUMNS, [site(電話番号="046-255-1111")]), by=admin_user)

    created, updated = AuditEntry.objects.filter(action="shelter.import").order_by("id")
    assert created.before is None and created.actor == admin_user
    assert (updated.before["phone"], updated.after["phone"]) == ("046-255-0000", "046-255-1111")


def test_a_change_by_import_is_announced_as_a_correction(db, published):
    import_file(table(RECOMMENDED_COLUMNS, [site()]))
    shelter = Shelter.objects.get()

    import_file(table(RECOMMENDED_COLUMNS, [site(電話番号="046-255-1111")]))

    assert published("shelter.corrected") == [{"shelter_id": shelter.pk, "fields": ["phone"]}]


def test_importing_never_changes_a_shelters_status(db):
    import_file(table(RECOMMENDED_COLUMNS, [site()]))
    Shelter.objects.update(status=Shelter.Status.OPEN)

    import_file(table(RECOMMENDED_COLUMNS, [site(名称="ひばりが丘コミセン", 想定収容人数="400")]))

    shelter = Shelter.objects.get()
    assert (shelter.name, shelter.capacity) == ("ひばりが丘コミセン", 400)
    assert shelter.status == Shelter.Status.OPEN


def test_a_dry_run_says_what_would_change_and_writes_nothing(db):
    import_file(table(RECOMMENDED_COLUMNS, [site(ID="1")]))
    before, entries = state(), AuditEntry.objects.count()
    rows = [site(ID="1", 想定収容人数="400"), site(ID="2", 名称="座間市立東中学校")]

    result = import_file(table(RECOMMENDED_COLUMNS, rows), dry_run=True)

    assert (len(result.created), len(result.updated), result.unchanged) == (1, 1, 0)
    assert [(c.line, c.action, c.fields) for c in result.changes] == [
        (2, "updated", ["capacity"]),
        (3, "created", []),
    ]
    assert state() == before
    assert Shelter.objects.get().capacity == 350
    assert AuditEntry.objects.count() == entries


# --- export -----------------------------------------------------------------------------


def test_zamas_shelters_survive_a_round_trip_through_the_recommended_dataset(db):
    import_file(ZAMA_SHELTERS)
    import_file(ZAMA_SITES)
    original = state()
    exported = export_csv(Shelter.objects.all())
    Shelter.objects.all().delete()

    result = import_file(exported)

    assert len(result.created) == len(original) == Shelter.objects.count()
    assert state() == original


def test_the_csv_export_is_the_official_header_in_utf8_with_bom_and_crlf(db, shelter):
    content = export_csv([shelter])

    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",") == list(RECOMMENDED_COLUMNS)
    assert len(RECOMMENDED_COLUMNS) == 39
    row = rows_of(content)[0]
    assert row["全国地方公共団体コード"] == "142166"
    assert row["ID"] == f"sonae-{shelter.pk}"
    assert row["所在地_都道府県"] == "神奈川県"
    assert (row["災害種別_地震"], row["災害種別_大規模な火事"], row["災害種別_洪水"]) == (
        "1",
        "1",
        "",
    )
    assert (row["想定収容人数"], row["指定避難所との重複"]) == ("600", "1")


def test_the_exported_city_code_gets_its_check_digit(db, settings, shelter):
    settings.CITY_CODE = "14216"

    assert rows_of(export_csv([shelter]))[0]["全国地方公共団体コード"] == "142166"


def test_a_shelter_keeps_the_id_it_had_in_the_citys_list(db):
    import_file(table(RECOMMENDED_COLUMNS, [site(ID="A-17")]))

    assert rows_of(export_csv(Shelter.objects.all()))[0]["ID"] == "A-17"


def test_another_citys_shelters_are_exported_under_their_own_municipality(db):
    import_file(SAGAMIHARA_SITES)

    row = rows_of(export_csv(Shelter.objects.all()))[0]

    assert row["全国地方公共団体コード"] == "142166"  # who publishes the list
    assert row["市区町村コード"] == row["所在地_全国地方公共団体コード"] == "141500"


# --- the API ----------------------------------------------------------------------------


def upload(content: bytes, name: str = "142166_evacuation_space.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_an_administrator_imports_a_file_and_gets_the_counts(api_as, admin_user):
    client = api_as(admin_user)
    content = table(RECOMMENDED_COLUMNS, [site(ID="1"), site(ID="2", 名称="座間市立東中学校")])

    dry = client.post("/api/v1/shelters/import", {"file": upload(content), "dry_run": "true"})
    real = client.post("/api/v1/shelters/import", {"file": upload(content)})
    again = client.post("/api/v1/shelters/import", {"file": upload(content)})

    assert dry.status_code == 200, dry.content
    assert {k: dry.json()[k] for k in ("dry_run", "created", "updated", "unchanged")} == {
        "dry_run": True,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert [c["shelter_id"] for c in dry.json()["changes"]] == [None, None]
    assert real.status_code == 200
    assert (real.json()["created"], real.json()["format"]) == (2, "recommended")
    assert [c["shelter_id"] for c in real.json()["changes"]] == list(
        Shelter.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)
    assert AuditEntry.objects.filter(action="shelter.import", actor=admin_user).count() == 2


def test_a_dry_run_asked_for_in_the_query_writes_nothing_either(api_as, admin_user):
    content = table(RECOMMENDED_COLUMNS, [site()])

    response = api_as(admin_user).post(
        "/api/v1/shelters/import?dry_run=true", {"file": upload(content)}
    )

    assert response.status_code == 200
    assert (response.json()["dry_run"], response.json()["created"]) == (True, 1)
    assert not Shelter.objects.exists()


def test_a_geojson_file_is_imported_through_the_api_too(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/v1/shelters/import",
        {"file": SimpleUploadedFile("e.geojson", ZAMA_SITES.read_bytes())},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["format"], response.json()["created"]) == ("gsi_site", 59)


@pytest.mark.parametrize("role", ["ops", "manager"])
def test_only_administrators_may_import(api_as, users, role):
    user = next(u for u in users.values() if u.username == role)
    content = table(RECOMMENDED_COLUMNS, [site()])
    shelters = Shelter.objects.count()

    response = api_as(user).post("/api/v1/shelters/import", {"file": upload(content)})
    anonymous = api_as(None).post("/api/v1/shelters/import", {"file": upload(content)})

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert anonymous.status_code == 401
    assert Shelter.objects.count() == shelters


def test_a_bad_file_answers_422_with_every_bad_row(api_as, admin_user):
    content = table(RECOMMENDED_COLUMNS, [site(ID="1", 名称=""), site(ID="2", 経度="x")])

    response = api_as(admin_user).post("/api/v1/shelters/import", {"file": upload(content)})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["rows"] == [
        {"line": 2, "field": "名称", "message": "名称がありません。"},
        {"line": 3, "field": "経度", "message": body["rows"][1]["message"]},
    ]
    assert body["errors"] == [{"field": "file", "message": body["message"], "type": "invalid"}]
    assert not Shelter.objects.exists()


def test_a_bad_header_answers_422_naming_the_missing_columns(api_as, admin_user):
    content = table(["ID", "名称"], [{"ID": "1", "名称": "x"}])

    response = api_as(admin_user).post("/api/v1/shelters/import", {"file": upload(content)})

    assert response.status_code == 422
    assert "所在地_連結表記" in response.json()["missing"]


def test_a_file_over_the_size_limit_is_refused(api_as, admin_user, monkeypatch):
    monkeypatch.setattr(opendata, "MAX_UPLOAD_BYTES", 1024)
    content = table(RECOMMENDED_COLUMNS, [site(ID=str(n)) for n in range(20)])

    response = api_as(admin_user).post("/api/v1/shelters/import", {"file": upload(content)})

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not Shelter.objects.exists()


def test_a_request_without_a_file_answers_422(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/shelters/import", {})

    assert response.status_code == 422


@pytest.fixture
def three_shelters(shelter, other_shelter) -> list[Shelter]:
    flooded = Shelter.objects.create(
        name="座間市立相模野小学校",
        address="神奈川県座間市相模が丘3-1-1",
        point=Point(139.42, 35.51, srid=4326),
        hazards=["flood", "earthquake"],
        status=Shelter.Status.OPEN,
    )
    return [shelter, other_shelter, flooded]


@pytest.mark.parametrize("query", ["hazard=flood", "status=open", "q=栗原", "", "status=closed"])
def test_the_export_holds_exactly_the_shelters_the_list_shows(api_as, three_shelters, query):
    client = api_as(None)
    listed = {s["name"] for s in client.get(f"/api/v1/shelters?{query}").json()["items"]}

    csv_response = client.get(f"/api/v1/shelters/export.csv?{query}")
    geojson_response = client.get(f"/api/v1/shelters/export.geojson?{query}")

    assert csv_response.status_code == 200
    assert {row["名称"] for row in rows_of(csv_response.content)} == listed
    features = geojson_response.json()["features"]
    assert {f["properties"]["名称"] for f in features} == listed
    assert listed  # each query selects something


def test_the_exports_are_files_to_download(api_as, shelter):
    client = api_as(None)

    csv_response = client.get("/api/v1/shelters/export.csv")
    geojson_response = client.get("/api/v1/shelters/export.geojson")

    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_response["Content-Disposition"] == (
        'attachment; filename="142166_evacuation_space.csv"'
    )
    assert geojson_response["Content-Type"] == "application/geo+json"
    assert geojson_response["Content-Disposition"] == (
        'attachment; filename="142166_evacuation_space.geojson"'
    )
    feature = geojson_response.json()["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [139.416, 35.512]}
    assert list(feature["properties"]) == list(RECOMMENDED_COLUMNS)


def test_a_bad_filter_on_an_export_is_a_422_not_a_file(api_as, shelter):
    response = api_as(None).get("/api/v1/shelters/export.csv?hazard=meteor")

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")


def test_our_geojson_export_imports_back_without_changing_anything(
    api_as, admin_user, other_shelter
):
    exported = api_as(None).get("/api/v1/shelters/export.geojson").content
    client = api_as(admin_user)

    first = client.post("/api/v1/shelters/import", {"file": upload(exported, "a.geojson")})
    second = client.post("/api/v1/shelters/import", {"file": upload(exported, "a.geojson")})

    # The first import only ties the shelter to its row in our list (by name and address).
    assert first.json()["changes"] == [
        {
            "line": 1,
            "action": "updated",
            "shelter_id": other_shelter.pk,
            "name": other_shelter.name,
            "fields": ["opendata_id"],
        }
    ]
    assert (second.json()["unchanged"], Shelter.objects.count()) == (1, 1)
