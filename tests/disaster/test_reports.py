"""Damage reports: the workflow and its history, merging, near-duplicates, photos with
their GPS stripped for all but operations staff, the public form's rate limit, and every
kind of bad input refused with the field at fault."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import Client
from django.utils import timezone
from PIL import Image

from disaster.core.geography import CityBoundary
from disaster.core.models import Incident
from disaster.reports import services as reports
from disaster.reports.models import DamageReport

pytestmark = pytest.mark.django_db

INSIDE = {"latitude": 35.49, "longitude": 139.41}


@pytest.fixture(autouse=True)
def city(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    CityBoundary.objects.create(
        code=settings.CITY_CODE,
        name="座間市",
        area=MultiPolygon(Polygon.from_bbox((139.36, 35.45, 139.44, 35.51)), srid=4326),
    )


def staff_report(client, **changes) -> dict:
    body = {"category": "road_blocked", "severity": 3, "description": "倒木", **INSIDE, **changes}
    response = client.post("/api/v1/reports", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def photo_with_gps(fmt: str = "JPEG") -> bytes:
    """A real photo whose EXIF says where it was taken (GPS IFD)."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SonaePhone"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (35.0, 29.0, 24.0)
    gps[3], gps[4] = "E", (139.0, 24.0, 36.0)
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_staff_record_a_report_and_the_map_hears_of_it_without_the_contact(
    api_as, ops_user, published
):
    report = staff_report(api_as(ops_user), contact="090-1111-2222")

    assert report["status"] == "new" and report["reporters"] == 1
    assert report["reporter_contact"] == "090-1111-2222"
    event = published("report.created")[-1]
    assert event["id"] == report["id"] and "1111-2222" not in str(event)


def test_the_workflow_goes_verify_assign_resolve_and_keeps_who_did_what(api_as, ops_user):
    client = api_as(ops_user)
    report = staff_report(client)

    assert client.post(f"/api/v1/reports/{report['id']}/verify").json()["status"] == "verified"
    assigned = client.post(
        f"/api/v1/reports/{report['id']}/assign", {"team": "道路班"}, "application/json"
    ).json()
    resolved = client.post(f"/api/v1/reports/{report['id']}/resolve").json()
    history = client.get(f"/api/v1/reports/{report['id']}/history").json()

    assert assigned["team"] == "道路班" and resolved["status"] == "resolved"
    assert [(h["action"], h["to_status"], h["by"]) for h in history] == [
        ("create", "new", "ops"),
        ("verify", "verified", "ops"),
        ("assign", "assigned", "ops"),
        ("resolve", "resolved", "ops"),
    ]


def test_a_resolved_report_cannot_be_verified_again(api_as, ops_user):
    client = api_as(ops_user)
    report = staff_report(client)
    client.post(f"/api/v1/reports/{report['id']}/resolve")

    response = client.post(f"/api/v1/reports/{report['id']}/verify")

    assert response.status_code == 409
    assert DamageReport.objects.get().status == "resolved"


def test_merging_keeps_every_source_and_counts_the_reporters(api_as, ops_user, published):
    client = api_as(ops_user)
    first = staff_report(client)
    second = staff_report(client, latitude=35.4901)
    third = staff_report(client, latitude=35.4902)

    client.post(f"/api/v1/reports/{third['id']}/merge", {"into": second["id"]}, "application/json")
    merged = client.post(
        f"/api/v1/reports/{second['id']}/merge", {"into": first["id"]}, "application/json"
    ).json()

    assert merged["id"] == first["id"] and merged["reporters"] == 3
    assert set(
        DamageReport.objects.filter(merged_into=first["id"]).values_list("pk", flat=True)
    ) == {
        second["id"],
        third["id"],
    }
    assert DamageReport.objects.get(pk=second["id"]).status == "duplicate"
    assert published("report.updated")[-1]["reporters"] == 3


def test_a_report_cannot_be_merged_into_itself(api_as, ops_user):
    client = api_as(ops_user)
    report = staff_report(client)

    response = client.post(
        f"/api/v1/reports/{report['id']}/merge", {"into": report["id"]}, "application/json"
    )

    assert response.status_code == 422


def test_near_reports_of_the_same_kind_are_proposed_as_duplicates(api_as, ops_user):
    client = api_as(ops_user)
    report = staff_report(client)
    near = staff_report(client, latitude=35.4905)  # ~55 m north
    staff_report(client, latitude=35.50)  # ~1.1 km
    staff_report(client, category="fire")

    proposed = client.get(f"/api/v1/reports/{report['id']}/duplicates").json()

    assert [r["id"] for r in proposed] == [near["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"latitude": 35.70}, "latitude"),  # 東京都心: outside the city
        ({"latitude": 95}, "latitude"),
        ({"severity": 6}, "severity"),
        ({"category": "alien_invasion"}, "category"),
    ],
)
def test_bad_reports_are_refused_with_the_field_and_nothing_is_stored(
    api_as, ops_user, changes, field
):
    body = {"category": "fire", "severity": 3, **INSIDE, **changes}
    response = api_as(ops_user).post("/api/v1/reports", body, content_type="application/json")

    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not DamageReport.objects.exists()


def test_outside_the_city_says_so_clearly(api_as, ops_user):
    body = {"category": "fire", "severity": 3, "latitude": 35.68, "longitude": 139.76}
    response = api_as(ops_user).post("/api/v1/reports", body, content_type="application/json")

    assert "座間市の外" in response.json()["message"]


def test_unknown_filters_are_refused(api_as, ops_user):
    response = api_as(ops_user).get("/api/v1/reports?colour=red")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "colour"


def test_reports_are_filtered_by_category_severity_status_and_bbox(api_as, ops_user):
    client = api_as(ops_user)
    fire = staff_report(client, category="fire", severity=5)
    staff_report(client, category="fire", severity=2)
    staff_report(client, category="flooding", severity=5, longitude=139.38)

    def ids(query: str) -> list[int]:
        return [r["id"] for r in client.get(f"/api/v1/reports?{query}").json()["items"]]

    assert ids("category=fire&severity_min=4") == [fire["id"]]
    assert len(ids("bbox=139.40,35.48,139.42,35.50")) == 2
    assert ids("status=resolved") == []
    assert client.get("/api/v1/reports?bbox=1,2,3").status_code == 422


def test_the_public_form_takes_a_report_with_a_photo_and_answers_its_number_only(tmp_path):
    response = Client().post(
        "/api/v1/public/reports",
        {
            "category": "flooding",
            "severity": "4",
            "description": "<script>alert(1)</script> 道路が冠水",
            "contact": "090-3333-4444",
            "photo": upload(photo_with_gps()),
            **INSIDE,
        },
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"id", "message"} and str(answer["id"]) in answer["message"]
    report = DamageReport.objects.get()
    assert report.source == "web" and report.reporter_contact == "090-3333-4444"
    assert report.description.startswith("<script>")  # stored as text; pages escape it


def test_the_photo_everyone_sees_has_no_gps_and_staff_still_have_the_original(
    api_as, ops_user, manager_user
):
    report = staff_report(api_as(ops_user))
    added = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload(photo_with_gps())}
    )
    assert added.status_code == 201, added.content
    photo = added.json()

    seen = api_as(manager_user).get(f"/api/v1/reports/{report['id']}").json()
    public = b"".join(api_as(manager_user).get(photo["url"]).streaming_content)
    original = b"".join(api_as(ops_user).get(photo["original_url"]).streaming_content)

    assert seen["reporter_contact"] is None and seen["photos"][0]["original_url"] is None
    assert api_as(manager_user).get(photo["original_url"]).status_code == 403
    assert Image.open(io.BytesIO(public)).getexif().get_ifd(0x8825) == {}
    assert not Image.open(io.BytesIO(public)).getexif()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)[1] == "N"


def test_a_file_that_is_not_an_image_is_refused_whatever_it_is_called(api_as, ops_user):
    report = staff_report(api_as(ops_user))

    response = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos",
        {"photo": upload(b"%PDF-1.7 not a photo", "photo.jpg", "image/jpeg")},
    )

    assert response.status_code == 415
    assert not DamageReport.objects.get().photos.exists()


def big_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(out, format="JPEG")
    return out.getvalue()


def bomb_png() -> bytes:
    """20000 × 10000 pixels of one bit: a few kilobytes that would decode to 200 MB."""
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [("truncated", lambda: big_jpeg()[:3000], 415), ("bomb", bomb_png, 413)],
)
def test_a_broken_or_bomb_photo_is_refused_before_anything_is_stored(
    api_as, ops_user, name, make, status
):
    report = staff_report(api_as(ops_user))

    response = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload(make(), f"{name}.jpg")}
    )

    assert response.status_code == status, response.content
    assert not DamageReport.objects.get().photos.exists()


def test_an_oversized_photo_is_refused(api_as, ops_user, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 1000
    report = staff_report(api_as(ops_user))

    response = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload(photo_with_gps() + b"0" * 2000)}
    )

    assert response.status_code == 413


def test_a_public_report_with_a_bad_photo_stores_nothing():
    response = Client().post(
        "/api/v1/public/reports",
        {"category": "fire", "severity": "3", "photo": upload(b"GIF89a...", "x.gif"), **INSIDE},
    )

    assert response.status_code == 415
    assert not DamageReport.objects.exists()


def test_the_public_form_is_rate_limited_per_sender(settings):
    settings.REPORT_PUBLIC_PER_HOUR = 2
    body = {"category": "fire", "severity": "2", **INSIDE}
    sender, other = Client(REMOTE_ADDR="203.0.113.5"), Client(REMOTE_ADDR="203.0.113.6")

    answers = [sender.post("/api/v1/public/reports", body).status_code for _ in range(3)]
    limited = sender.post("/api/v1/public/reports", body)

    assert answers == [201, 201, 429]
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert other.post("/api/v1/public/reports", body).status_code == 201
    assert DamageReport.objects.count() == 3


def test_anonymous_visitors_cannot_read_reports():
    assert Client().get("/api/v1/reports").status_code == 401


def test_duplicates_are_measured_in_metres_and_the_distance_is_a_setting(
    api_as, ops_user, settings
):
    client = api_as(ops_user)
    report = staff_report(client)
    east = staff_report(client, longitude=139.4111)  # ~100 m east (a degree is ~91 km here)

    settings.REPORT_DUPLICATE_METRES = 80
    too_far = client.get(f"/api/v1/reports/{report['id']}/duplicates").json()
    settings.REPORT_DUPLICATE_METRES = 120
    near = client.get(f"/api/v1/reports/{report['id']}/duplicates").json()

    assert too_far == [] and [r["id"] for r in near] == [east["id"]]


def test_duplicates_are_only_proposed_within_the_time_window(api_as, ops_user, settings):
    client = api_as(ops_user)
    report = staff_report(client)
    later = staff_report(client, latitude=35.4902)
    DamageReport.objects.filter(pk=later["id"]).update(
        created_at=DamageReport.objects.get(pk=report["id"]).created_at
        + dt.timedelta(minutes=settings.REPORT_DUPLICATE_MINUTES + 1)
    )
    resolved = staff_report(client, latitude=35.4901)
    client.post(f"/api/v1/reports/{resolved['id']}/resolve")

    assert client.get(f"/api/v1/reports/{report['id']}/duplicates").json() == []


def test_a_merged_report_lists_every_source_it_stands_for(api_as, ops_user):
    client = api_as(ops_user)
    kept = staff_report(client)
    web = Client(REMOTE_ADDR="203.0.113.9").post(
        "/api/v1/public/reports", {"category": "road_blocked", "severity": "3", **INSIDE}
    )
    client.post(
        f"/api/v1/reports/{web.json()['id']}/merge", {"into": kept["id"]}, "application/json"
    )

    merged = client.get(f"/api/v1/reports/{kept['id']}").json()

    assert merged["reporters"] == 2
    assert [(s["id"], s["source"]) for s in merged["sources"]] == [
        (kept["id"], "staff"),
        (web.json()["id"], "web"),
    ]


def test_reports_are_filtered_by_exact_severities_and_time(api_as, ops_user):
    client = api_as(ops_user)
    two = staff_report(client, severity=2)
    staff_report(client, severity=3)
    four = staff_report(client, severity=4)
    future = "2099-01-01T00:00:00%2B09:00"

    def ids(query: str) -> set[int]:
        return {r["id"] for r in client.get(f"/api/v1/reports?{query}").json()["items"]}

    assert ids("severity=2&severity=4") == {two["id"], four["id"]}
    assert ids(f"since={future}") == set()
    assert len(ids(f"until={future}")) == 3
    assert client.get("/api/v1/reports?severity=9").status_code == 422


def test_markup_in_every_text_field_is_kept_as_text(api_as, ops_user):
    payload = "<img src=x onerror=alert(1)>"
    report = staff_report(api_as(ops_user), description=payload, address=payload)

    stored = DamageReport.objects.get(pk=report["id"])
    assert stored.description == payload and stored.address == payload
    assert report["description"] == payload


def test_without_a_boundary_the_configured_box_decides(api_as, ops_user, settings):
    CityBoundary.objects.all().delete()
    settings.CITY_BBOX = [139.40, 35.48, 139.42, 35.50]
    client = api_as(ops_user)

    inside = client.post(
        "/api/v1/reports", {"category": "fire", "severity": 2, **INSIDE}, "application/json"
    )
    outside = client.post(
        "/api/v1/reports",
        {"category": "fire", "severity": 2, "latitude": 35.47, "longitude": 139.41},
        "application/json",
    )

    assert inside.status_code == 201
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "latitude"


def test_every_change_is_published_without_the_contact_and_matches_its_schema(
    api_as, ops_user, published
):
    client = api_as(ops_user)
    report = staff_report(client, contact="yamada@example.jp 090-5555-6666")
    other = staff_report(client, contact="suzuki@example.jp")
    client.post(f"/api/v1/reports/{report['id']}/verify")
    client.post(f"/api/v1/reports/{report['id']}/assign", {"team": "消防"}, "application/json")
    client.post(f"/api/v1/reports/{other['id']}/merge", {"into": report["id"]}, "application/json")
    client.post(f"/api/v1/reports/{report['id']}/reject")

    events = published("report.created") + published("report.updated")  # schema-checked

    assert [e["status"] for e in published("report.updated")] == [
        "verified",
        "assigned",
        "duplicate",
        "assigned",
        "rejected",
    ]
    assert "example.jp" not in str(events) and "5555-6666" not in str(events)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp"), ("JPEG", "image/jpeg")]
)
def test_every_accepted_format_loses_its_gps_in_the_copy_others_see(
    api_as, ops_user, manager_user, fmt, content_type
):
    sent = photo_with_gps(fmt)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(0x8825)  # the test photo has GPS
    report = staff_report(api_as(ops_user))

    added = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload(sent, "p", content_type)}
    )
    response = api_as(manager_user).get(added.json()["url"])
    public = b"".join(response.streaming_content)

    assert response["Content-Type"] == content_type
    assert Image.open(io.BytesIO(public)).format == fmt
    assert not Image.open(io.BytesIO(public)).getexif()
    assert b"SonaePhone" not in public


def test_a_public_report_with_an_oversized_photo_is_a_413_and_stores_nothing(settings):
    settings.REPORT_PHOTO_MAX_BYTES = 500
    response = Client().post(
        "/api/v1/public/reports",
        {"category": "fire", "severity": "3", "photo": upload(photo_with_gps()), **INSIDE},
    )

    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not DamageReport.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"latitude": "nan"}, "latitude"),
        ({"longitude": "inf"}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"latitude": "35.68", "longitude": "139.76"}, "latitude"),  # Tokyo, not our city
        ({"severity": "9"}, "severity"),
        ({"category": "<script>"}, "category"),
    ],
)
def test_the_public_form_refuses_bad_places_and_values_with_the_field_and_stores_nothing(
    changes, field
):
    body = {"category": "fire", "severity": "3", **INSIDE, **changes}
    response = Client().post("/api/v1/public/reports", body)

    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not DamageReport.objects.exists()


def incident(name: str = "台風第10号", **fields) -> Incident:
    return Incident.objects.create(name=name, kind=Incident.Kind.TYPHOON, **fields)


def public_report() -> DamageReport:
    body = {"category": "flooding", "severity": "3", **INSIDE}
    response = Client().post("/api/v1/public/reports", body)
    assert response.status_code == 201, response.content
    return DamageReport.objects.get(pk=response.json()["id"])


def test_a_public_report_joins_the_only_incident_in_progress():
    now = timezone.now()
    typhoon = incident(phase=Incident.Phase.RESPONSE)
    incident("前の地震", ended_at=now - dt.timedelta(days=3))
    incident("終了した洪水", phase=Incident.Phase.CLOSED)
    incident("来週の訓練", started_at=now + dt.timedelta(days=7), is_drill=True)

    assert public_report().incident_id == typhoon.pk


def test_a_line_report_joins_the_only_incident_in_progress():
    typhoon = incident()

    report = reports.create_report(
        reports.NewReport(category="flooding", severity=3, **INSIDE),
        source=DamageReport.Source.LINE,
    )

    assert report.incident_id == typhoon.pk


def test_a_report_without_an_incident_stays_without_when_none_or_several_are_in_progress():
    incident("前の地震", ended_at=timezone.now() - dt.timedelta(hours=1))
    assert public_report().incident_id is None

    incident("台風第10号")
    incident("土砂災害")
    assert public_report().incident_id is None


def test_a_drill_in_progress_never_takes_in_real_reports():
    incident("シェイクアウト訓練", is_drill=True)
    assert public_report().incident_id is None  # only a drill running: no incident

    typhoon = incident("台風第10号")
    assert public_report().incident_id == typhoon.pk  # a drill beside it changes nothing


def test_a_report_naming_its_incident_keeps_it_even_when_another_is_in_progress(api_as, ops_user):
    incident("台風第10号")
    earlier = incident("前の地震", ended_at=timezone.now() - dt.timedelta(days=1))

    report = staff_report(api_as(ops_user), incident_id=earlier.pk)

    assert report["incident_id"] == earlier.pk


def test_a_photo_added_by_staff_is_in_the_history_and_told_to_the_operations_room(
    api_as, ops_user, published
):
    report = staff_report(api_as(ops_user))
    before = len(published("report.updated"))

    added = api_as(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload(photo_with_gps())}
    )

    assert added.status_code == 201
    assert len(published("report.updated")) == before + 1
    history = api_as(ops_user).get(f"/api/v1/reports/{report['id']}/history").json()
    assert [h["action"] for h in history][-1] == "add" and history[-1]["by"] == "ops"
