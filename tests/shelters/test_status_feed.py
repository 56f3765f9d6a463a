"""The open shelter-status file (DESIGN decision 15): the 推奨データセット columns of every
shelter, its status, the public band, exact counts only where the city publishes them, and
the time; now, and as it was at any past time, rebuilt from the audit log and the
head-counts' own times."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from disaster.core.models import AuditEntry
from shelters.models import HeadCount, Shelter
from shelters.opendata import import_file
from shelters.services import change_status, record_headcount

pytestmark = pytest.mark.django_db

EXPECTED = Path(__file__).parent / "data" / "shelter-status-expected.csv"
TOKYO = ZoneInfo("Asia/Tokyo")
HISTORY = "/api/v1/shelters/status/history"


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 1, hour, minute, tzinfo=TOKYO)


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def school(db) -> Shelter:
    return Shelter.objects.create(
        name="座間市立相模が丘小学校",
        kana="ザマシリツサガミガオカショウガッコウ",
        name_en="Sagamigaoka Elementary School",
        address="神奈川県座間市相模が丘6-1-1",
        point=Point(139.4160, 35.5120, srid=4326),
        capacity=600,
        hazards=["earthquake", "large_fire"],
        is_shelter=True,
        is_evacuation_site=True,
        phone="046-252-0000",
        opendata_id="142166-0001",
    )


def change(shelter: Shelter, status: str, when: dt.datetime) -> None:
    """Change the status through the service, then date its audit entry to `when`."""
    change_status(shelter.pk, status=status, by=None)
    entry = AuditEntry.objects.filter(action="shelter.status").latest("id")
    AuditEntry.objects.filter(pk=entry.pk).update(at=when)


def count(
    shelter: Shelter,
    total: int,
    observed: dt.datetime,
    recorded: dt.datetime,
    households: int | None = None,
) -> None:
    """A head-count through the service, dated as observed and recorded then."""
    made = record_headcount(shelter.pk, total=total, households=households, by=None)
    HeadCount.objects.filter(pk=made.pk).update(observed_at=observed, at=recorded)


@pytest.fixture
def first_day(school: Shelter) -> Shelter:
    """Opened at 09:00, 510 people in 230 households counted at 09:30 (85 %: 混雑), full at
    13:00, a count of 600 in 270 observed at 12:30 but recorded only at 15:00, closed at
    18:00."""
    change(school, Shelter.Status.OPEN, at(9))
    count(school, 510, at(9, 30), at(9, 30), households=230)
    change(school, Shelter.Status.FULL, at(13))
    count(school, 600, at(12, 30), at(15), households=270)
    change(school, Shelter.Status.CLOSED, at(18))
    return school


def test_the_file_as_of_a_past_time_matches_the_hand_written_expected_file(first_day):
    response = Client().get(f"{HISTORY}.csv", {"at": "2026-01-01T12:00:00+09:00"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="142166_evacuation_space_status_202601011200.csv"'
        in (response["Content-Disposition"])
    )
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as Excel needs it
    expected = EXPECTED.read_text(encoding="utf-8").splitlines()
    lines = body.decode("utf-8-sig").split("\r\n")
    assert lines[0] == expected[0]  # the header, in the 推奨データセット order
    assert lines[1] == expected[1]
    assert lines[2:] == [""]


def test_the_current_file_has_the_same_header_and_says_its_time(first_day):
    response = Client().get("/api/v1/shelters/status.csv")

    header = EXPECTED.read_text(encoding="utf-8").splitlines()[0]
    assert response.content.decode("utf-8-sig").split("\r\n")[0] == header
    [row] = read_csv(response.content)
    assert (row["開設状況"], row["混雑"]) == ("閉鎖", "")
    stamp = dt.datetime.fromisoformat(row["時点"])
    assert stamp.utcoffset() == dt.timedelta(hours=9)
    assert abs((dt.datetime.now(TOKYO) - stamp).total_seconds()) < 60
    assert "人数" not in row and "世帯数" not in row  # not published by default


@pytest.mark.parametrize(
    ("when", "status", "band", "people", "households"),
    [
        ("2026-01-01T08:00:00+09:00", "閉鎖", "", "", ""),  # before it opened
        ("2026-01-01T09:15:00+09:00", "開設", "空き", "", ""),  # open, nobody counted yet
        ("2026-01-01T12:00:00+09:00", "開設", "混雑", "510", "230"),
        ("2026-01-01T14:00:00+09:00", "満員・受入停止", "満員", "510", "230"),  # 600 not yet
        ("2026-01-01T16:00:00+09:00", "満員・受入停止", "満員", "600", "270"),
        ("2026-01-01T19:00:00+09:00", "閉鎖", "", "", ""),
        ("2026-01-01T10:00:00", "開設", "混雑", "510", "230"),  # no offset: Japan time
    ],
)
def test_the_history_gives_each_moment_as_it_was_recorded_then(
    first_day, settings, when, status, band, people, households
):
    settings.PUBLISH_HEADCOUNTS = True

    [row] = read_csv(Client().get(f"{HISTORY}.csv", {"at": when}).content)

    assert (row["開設状況"], row["混雑"], row["人数"], row["世帯数"]) == (
        status,
        band,
        people,
        households,
    )
    assert dt.datetime.fromisoformat(row["時点"]) == dt.datetime.fromisoformat(
        when if "+" in when else f"{when}+09:00"
    )


def test_exact_counts_follow_the_setting_in_the_file_and_the_public_api(first_day, settings):
    count(first_day, 420, dt.datetime.now(TOKYO), dt.datetime.now(TOKYO))
    change_status(first_day.pk, status=Shelter.Status.OPEN, by=None)
    anonymous = Client()

    assert anonymous.get("/api/v1/shelters").json()["items"][0]["occupancy"] is None
    header = read_csv(anonymous.get("/api/v1/shelters/status.csv").content)[0]
    assert "人数" not in header

    settings.PUBLISH_HEADCOUNTS = True

    assert anonymous.get("/api/v1/shelters").json()["items"][0]["occupancy"] == 420
    [row] = read_csv(anonymous.get("/api/v1/shelters/status.csv").content)
    assert list(row)[-5:] == ["開設状況", "混雑", "人数", "世帯数", "時点"]
    assert (row["開設状況"], row["混雑"], row["人数"]) == ("開設", "空き", "420")


def test_a_shelter_added_later_is_not_in_the_file_of_before(first_day, tmp_path):
    gsi = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [139.40, 35.49]},
                "properties": {
                    "共通ID": "E14216-9999",
                    "施設・場所名": "新しい公民館",
                    "住所": "神奈川県座間市栗原中央1-1-1",
                    "受入対象者": "",
                },
            }
        ],
    }
    import_file(json.dumps(gsi, ensure_ascii=False).encode())
    AuditEntry.objects.filter(action="shelter.import").update(at=at(11))

    before = read_csv(Client().get(f"{HISTORY}.csv", {"at": at(10).isoformat()}).content)
    after = read_csv(Client().get(f"{HISTORY}.csv", {"at": at(12).isoformat()}).content)

    assert [r["名称"] for r in before] == ["座間市立相模が丘小学校"]
    assert [r["名称"] for r in after] == ["座間市立相模が丘小学校", "新しい公民館"]


def test_the_geojson_has_the_same_rows_and_columns_in_order(first_day):
    response = Client().get(f"{HISTORY}.geojson", {"at": "2026-01-01T12:00:00+09:00"})

    assert response["Content-Type"] == "application/geo+json"
    [feature] = json.loads(response.content)["features"]
    expected = next(csv.DictReader(EXPECTED.open(encoding="utf-8")))
    assert feature["properties"] == expected
    assert list(feature["properties"]) == list(expected)
    assert feature["geometry"] == {"type": "Point", "coordinates": [139.416, 35.512]}


def test_a_formula_in_a_name_is_published_as_text(school):
    Shelter.objects.filter(pk=school.pk).update(name='=HYPERLINK("http://x")')

    [row] = read_csv(Client().get("/api/v1/shelters/status.csv").content)

    assert row["名称"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    "when", ["", "yesterday", "2999-01-01T00:00:00+09:00", "0001-01-01T00:00:00+09:00"]
)
def test_a_missing_unreadable_or_future_time_is_refused(school, when):
    response = Client().get(f"{HISTORY}.csv", {"at": when} if when else {})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["at"]
