"""Drafting, approving and following up alerts through the API: the four-eyes rule, the
send job deferred in the approving transaction, and every kind of bad draft refused with
the field at fault."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from alerts.authoring import services
from alerts.delivery.wording import words
from alerts.jobs import send_alert
from alerts.models import Alert, Delivery, Subscriber
from disaster.core.geography import CityBoundary
from disaster.core.roles import Role
from shelters.models import Shelter
from tests.alerts.delivery_helpers import subscriber
from tests.alerts.review import read_and_approve

pytestmark = pytest.mark.django_db

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[139.40, 35.48], [139.42, 35.48], [139.42, 35.50], [139.40, 35.50], [139.40, 35.48]]
    ],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[139.40, 35.48], [139.42, 35.50], [139.42, 35.48], [139.40, 35.50], [139.40, 35.48]]
    ],
}


def draft(**changes) -> dict:
    return {
        "kind": "evacuation_4",
        "title_ja": "避難指示",
        "body_ja": "川が氾濫するおそれがあります。直ちに避難してください。",
        "title_en": "Evacuate",
        "body_en": "The river may flood. Evacuate now.",
        "channels": ["line", "sms"],
        "area": SQUARE,
        "hazard": "flood",
        **changes,
    }


@pytest.fixture
def ops2(make_user):
    return make_user("ops2", Role.OPERATIONS)


@pytest.fixture
def drafted(api_as, ops_user) -> dict:
    response = api_as(ops_user).post("/api/v1/alerts", draft(), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def send_jobs():
    return ProcrastinateJob.objects.filter(task_name=send_alert.name)


@pytest.fixture(autouse=True)
def empty_job_queue(db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def errors_of(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_a_draft_is_stored_with_its_area_and_announced_without_personal_data(drafted, published):
    assert drafted["status"] == "draft"
    assert drafted["drafted_by"] == "ops"
    assert drafted["area"]["type"] == "MultiPolygon"
    assert published("alert.drafted")[-1]["id"] == drafted["id"]
    assert not send_jobs().exists()


def test_a_draft_without_a_japanese_body_is_refused(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(body_ja="  "), content_type="application/json"
    )

    assert response.status_code == 422
    assert "body_ja" in errors_of(response)
    assert not Alert.objects.exists()


def test_a_draft_with_no_target_is_refused(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(area=None), content_type="application/json"
    )

    assert response.status_code == 422
    assert "target" in errors_of(response)


def test_a_self_intersecting_area_is_refused_saying_so(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(area=BOWTIE), content_type="application/json"
    )

    assert response.status_code == 422
    assert "Self-intersection" in errors_of(response)["area"]
    assert "Self-intersection" in response.json()["message"]


def test_an_area_that_is_not_a_polygon_is_refused(api_as, ops_user):
    point = {"type": "Point", "coordinates": [139.4, 35.49]}
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(area=point), content_type="application/json"
    )

    assert response.status_code == 422
    assert "area" in errors_of(response)


def test_a_title_too_long_for_the_sms_is_left_out_of_it_and_the_preview_says_so(api_as, ops_user):
    created = api_as(ops_user).post(
        "/api/v1/alerts", draft(title_ja="避難" * 100), content_type="application/json"
    )

    assert created.status_code == 201, created.content
    previews = api_as(ops_user).get(f"/api/v1/alerts/{created.json()['id']}/messages").json()
    sms = {p["language"]: p for p in previews if p["channel"] == "sms"}
    assert sms["ja"]["left_out"] == ["title"] and "避難避難" not in sms["ja"]["text"]
    assert sms["ja"]["text"].startswith("警戒レベル4 避難指示")
    assert all(p["segments"] <= p["max_segments"] == 3 for p in sms.values())


def test_an_sms_whose_level_action_area_and_link_cannot_fit_is_refused_naming_the_language(
    api_as, ops_user, settings
):
    settings.ALERTS_SMS_MAX_SEGMENTS = 1  # a carrier without concatenated SMS

    response = api_as(ops_user).post("/api/v1/alerts", draft(), content_type="application/json")

    assert response.status_code == 422
    message = errors_of(response)["district_ids"]
    too_long = r".+ の SMS が \d+ 文字になり、1 通分（70 文字）に収まりません。.+"
    assert re.fullmatch(too_long, message)


def test_a_long_title_is_fine_when_the_alert_goes_by_line_only(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/alerts",
        draft(title_ja="避難" * 30, channels=["line"]),
        content_type="application/json",
    )

    assert response.status_code == 201


def test_the_drafter_cannot_approve_their_own_alert(api_as, ops_user, drafted):
    response = read_and_approve(api_as(ops_user), drafted["id"])

    assert response.status_code == 403
    assert Alert.objects.get().status == "draft"
    assert not send_jobs().exists()


def test_a_second_staff_member_approves_and_the_send_job_is_queued(
    api_as, ops2, drafted, published
):
    response = read_and_approve(api_as(ops2), drafted["id"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert response.json()["approved_by"] == "ops2"
    job = send_jobs().get()
    assert job.args == {"alert_id": drafted["id"]}
    assert published("alert.approved")[-1]["id"] == drafted["id"]


def test_approving_twice_is_a_conflict_and_queues_nothing_more(api_as, ops2, drafted):
    read_and_approve(api_as(ops2), drafted["id"])

    response = read_and_approve(api_as(ops2), drafted["id"])

    assert response.status_code == 409
    assert send_jobs().count() == 1


def test_an_approval_that_rolls_back_leaves_no_job(ops_user, ops2, drafted):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.approve_alert(ops2, drafted["id"], drafted["version"])
        raise RuntimeError("the database went away")

    assert Alert.objects.get().status == "draft"
    assert not send_jobs().exists()


def test_a_drill_may_be_approved_by_its_drafter_and_is_marked_everywhere(api_as, ops_user):
    created = api_as(ops_user).post(
        "/api/v1/alerts", draft(is_drill=True), content_type="application/json"
    )
    alert_id = created.json()["id"]

    approved = read_and_approve(api_as(ops_user), alert_id)
    previews = api_as(ops_user).get(f"/api/v1/alerts/{alert_id}/messages").json()

    assert approved.status_code == 200
    assert previews and all(
        p["text"].startswith(
            words(p["language"])["drill_sms" if p["channel"] == "sms" else "drill"]
        )
        for p in previews
    )


def test_every_language_gets_its_template_with_the_japanese_text_marked_under_it(
    api_as, ops_user, drafted
):
    previews = api_as(ops_user).get(f"/api/v1/alerts/{drafted['id']}/messages").json()
    by = {(p["language"], p["channel"]): p for p in previews}

    chinese = by[("zh", "line")]
    assert chinese["text"].startswith("警戒级别4：避难指示")
    assert "（日语原文）：\n避難指示\n川が氾濫する" in chinese["text"]
    assert chinese["source"] == "template" and "japanese_staff_text" in chinese["warnings"]
    english = by[("en", "line")]  # staff typed English: theirs, not the Japanese
    assert english["text"].startswith("Alert Level 4: Evacuation Instruction")
    assert "Evacuate\nThe river may flood." in english["text"] and "川" not in english["text"]
    assert english["source"] == "staff" and "japanese_staff_text" not in english["warnings"]
    sms = by[("ja", "sms")]
    assert sms["text"].startswith("警戒レベル4 避難指示 指定区域:")
    assert f"/a/{drafted['id']}" in sms["text"]
    assert sms["encoding"] == "UCS-2" and sms["characters"] <= sms["sms_limit"]
    assert by[("en", "sms")]["encoding"] == "GSM-7"


def test_the_send_job_never_sends_an_alert_that_was_not_approved(drafted, fake_line, fake_twilio):
    subscriber(line_user_id="U" + "1" * 32)

    send_alert(alert_id=drafted["id"])

    assert not Delivery.objects.exists()
    assert Alert.objects.get().status == "draft"


def test_only_a_sent_alert_can_be_followed_up(api_as, ops_user, drafted):
    response = api_as(ops_user).post(
        f"/api/v1/alerts/{drafted['id']}/followups",
        {"msg_type": "cancel", "title_ja": "取消", "body_ja": "誤報でした。"},
        content_type="application/json",
    )

    assert response.status_code == 409


def test_a_cancellation_references_the_original_and_goes_to_the_same_area(
    api_as, ops_user, drafted
):
    Alert.objects.filter(pk=drafted["id"]).update(status="sent")

    response = api_as(ops_user).post(
        f"/api/v1/alerts/{drafted['id']}/followups",
        {"msg_type": "cancel", "title_ja": "取消", "body_ja": "先ほどの避難指示は誤りでした。"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    cancel = response.json()
    assert cancel["msg_type"] == "cancel"
    assert cancel["references_id"] == drafted["id"]
    assert cancel["area"] == drafted["area"]
    assert cancel["status"] == "draft"


def test_a_draft_can_be_withdrawn_but_not_a_sent_alert(api_as, ops_user, drafted):
    assert api_as(ops_user).post(f"/api/v1/alerts/{drafted['id']}/cancel").json()["status"] == (
        "cancelled"
    )
    Alert.objects.filter(pk=drafted["id"]).update(status="sent")
    assert api_as(ops_user).post(f"/api/v1/alerts/{drafted['id']}/cancel").status_code == 409


def test_drafting_shows_shelters_outside_a_flooded_area_but_inside_for_an_earthquake(
    api_as, ops_user, drafted
):
    inside = Shelter.objects.create(
        name="区域内小学校",
        address="座間市",
        point=Point(139.41, 35.49, srid=4326),
        capacity=300,
        hazards=["flood", "earthquake"],
        status="open",
    )
    outside = Shelter.objects.create(
        name="区域外中学校",
        address="座間市",
        point=Point(139.425, 35.49, srid=4326),
        capacity=400,
        hazards=["flood", "earthquake"],
        status="open",
    )
    Shelter.objects.create(
        name="遠くの公民館",
        address="座間市",
        point=Point(139.60, 35.70, srid=4326),
        capacity=100,
        hazards=["flood"],
        status="open",
    )

    flood = api_as(ops_user).get(f"/api/v1/alerts/{drafted['id']}/shelters").json()
    Alert.objects.filter(pk=drafted["id"]).update(hazard="earthquake")
    quake = api_as(ops_user).get(f"/api/v1/alerts/{drafted['id']}/shelters").json()

    assert [s["id"] for s in flood] == [outside.pk]
    assert flood[0]["free"] == 400 and 0 < flood[0]["distance_m"] < 3000
    assert {s["id"] for s in quake} == {inside.pk, outside.pk}


def test_staff_register_someone_who_needs_support_with_a_normalised_number(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/subscribers",
        {
            "phone": "090-1234-5678",
            "latitude": 35.49,
            "longitude": 139.41,
            "consent_note": "本人の同意を民生委員が確認（2026-11-20）",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    person = Subscriber.objects.get()
    assert person.phone == "+819012345678"
    assert person.needs_support and person.consent_method == "staff"
    assert person.registered_by == ops_user


@pytest.mark.parametrize("phone", ["12345", "090-1234-567", "+81 0 90", "abc"])
def test_a_malformed_phone_number_is_refused(api_as, ops_user, phone):
    response = api_as(ops_user).post(
        "/api/v1/subscribers",
        {"phone": phone, "latitude": 35.49, "longitude": 139.41, "consent_note": "同意あり"},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert "phone" in errors_of(response)
    assert not Subscriber.objects.exists()


def test_shelter_managers_see_no_subscribers(api_as, manager_user, ops_user):
    subscriber(phone="+819011112222")

    assert api_as(manager_user).get("/api/v1/subscribers").status_code == 403
    assert api_as(ops_user).get("/api/v1/subscribers").json()["count"] == 1


@pytest.mark.parametrize(
    "area",
    [
        {"type": "Polygon", "coordinates": "not coordinates"},
        {"type": "Polygon", "coordinates": [[[139.4, 35.48], [139.42, 35.48]]]},
        {"type": "Nonsense"},
    ],
)
def test_an_area_that_is_not_valid_geojson_is_refused(api_as, ops_user, area):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(area=area), content_type="application/json"
    )

    assert response.status_code == 422
    assert "area" in errors_of(response)


def test_the_drafted_event_carries_the_drawn_area_for_the_map(drafted, published):
    assert published("alert.drafted")[-1]["area"]["type"] == "MultiPolygon"


def test_the_sms_check_measures_the_link_with_the_id_the_alert_will_get(api_as, ops_user, settings):
    Alert.objects.create(
        pk=99_999, kind="information", title_ja="先の発令", body_ja="本文", channels=["line"]
    )
    # One segment, and a base URL that leaves the Japanese short form room for a one-digit
    # id only: the next id has six digits.
    settings.ALERTS_SMS_MAX_SEGMENTS = 1
    fixed = len("警戒レベル4 避難指示 指定区域: 危険な場所から全員避難 ") + len("/a/1")
    settings.PUBLIC_BASE_URL = "h" * (70 - fixed)

    refused = api_as(ops_user).post("/api/v1/alerts", draft(), content_type="application/json")

    assert refused.status_code == 422
    # 70 with the one-digit id a naive count would use; 75 with /a/100000.
    assert "日本語 の SMS が 75 文字" in errors_of(refused)["district_ids"]


def test_a_safety_check_asks_every_recipient_to_answer_with_a_digit(api_as, ops_user):
    created = api_as(ops_user).post(
        "/api/v1/alerts", draft(asks_safety=True), content_type="application/json"
    )
    assert created.status_code == 201, created.content

    previews = api_as(ops_user).get(f"/api/v1/alerts/{created.json()['id']}/messages").json()
    by = {(p["language"], p["channel"]): p for p in previews}

    assert "1 避難した / 2 自宅で無事 / 3 助けが必要" in by[("ja", "line")]["text"]
    assert "1 evacuated / 2 safe at home / 3 need help" in by[("en", "line")]["text"]
    assert "返信:1避難 2無事 3救助" in by[("ja", "sms")]["text"]
    assert all(p["characters"] <= p["sms_limit"] for p in previews if p["channel"] == "sms")
    plain = api_as(ops_user).post("/api/v1/alerts", draft(), content_type="application/json")
    plain_previews = api_as(ops_user).get(f"/api/v1/alerts/{plain.json()['id']}/messages").json()
    assert not any("3 助けが必要" in p["text"] or "3救助" in p["text"] for p in plain_previews)


# Texts that cannot break a feed: XML carries no control characters but tab and line breaks.
@pytest.mark.parametrize(
    ("field", "text", "character"),
    [
        ("body_ja", "一行目\x0b二行目", "U+000B"),  # Excel's line break inside a cell
        ("title_en", "Evacuate\x1b[31m", "U+001B"),
        ("body_en", "Next line\x85here", "U+0085"),  # C1 NEL
        ("title_ja", "避難\x7f指示", "U+007F"),
    ],
)
def test_a_control_character_in_a_draft_is_refused_naming_the_field(
    api_as, ops_user, field, text, character
):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(**{field: text}), content_type="application/json"
    )

    assert response.status_code == 422
    assert errors_of(response) == {field: f"制御文字（{character}）は使えません。"}
    assert not Alert.objects.exists()


def test_tabs_and_line_breaks_are_ordinary_text(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/alerts",
        draft(body_ja="避難してください。\r\n\t持ち物: 水、薬", channels=["line"]),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["body_ja"] == "避難してください。\r\n\t持ち物: 水、薬"


def test_a_control_character_is_refused_in_an_update_and_in_a_follow_up(api_as, ops_user, drafted):
    client = api_as(ops_user)
    updated = client.put(
        f"/api/v1/alerts/{drafted['id']}",
        draft(title_ja="避難指示\x0c"),
        content_type="application/json",
        headers={"If-Match": client.get(f"/api/v1/alerts/{drafted['id']}")["ETag"]},
    )
    Alert.objects.filter(pk=drafted["id"]).update(status="sent")
    followed = client.post(
        f"/api/v1/alerts/{drafted['id']}/followups",
        {"msg_type": "update", "title_ja": "続報", "body_ja": "水位\x08上昇中"},
        content_type="application/json",
    )

    assert updated.status_code == 422
    assert errors_of(updated) == {"title_ja": "制御文字（U+000C）は使えません。"}
    assert Alert.objects.get(pk=drafted["id"]).title_ja == "避難指示"
    assert followed.status_code == 422
    assert errors_of(followed) == {"body_ja": "制御文字（U+0008）は使えません。"}


def square_around(lon: float, lat: float, half: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - half, lat - half],
                [lon + half, lat - half],
                [lon + half, lat + half],
                [lon - half, lat + half],
                [lon - half, lat - half],
            ]
        ],
    }


WORLD = {
    "type": "Polygon",
    "coordinates": [[[-179, -89], [179, -89], [179, 89], [-179, 89], [-179, -89]]],
}


@pytest.fixture
def city(settings):
    """A square city, 139.40–139.44 E × 35.48–35.52 N (about 3.6 × 4.4 km)."""
    square = square_around(139.42, 35.50, 0.02)
    area = MultiPolygon(Polygon(square["coordinates"][0]), srid=4326)
    return CityBoundary.objects.create(code=settings.CITY_CODE, name="試験市", area=area)


@pytest.mark.parametrize(
    "area",
    [
        WORLD,
        square_around(139.42, 35.50, 0.5),  # the whole prefecture and more
        square_around(139.44, 35.50, 0.008),  # its east side 725 m past the boundary
    ],
    ids=["the globe", "a county", "too far past the boundary"],
)
def test_an_area_reaching_out_of_the_city_is_refused_naming_the_area(api_as, ops_user, city, area):
    response = api_as(ops_user).post(
        "/api/v1/alerts", draft(area=area), content_type="application/json"
    )

    assert response.status_code == 422
    assert set(errors_of(response)) == {"area"}
    assert "外にはみ出しています" in errors_of(response)["area"]


def test_an_area_drawn_a_little_past_the_boundary_is_accepted(api_as, ops_user, city, settings):
    assert settings.ALERT_AREA_BUFFER_M == 500
    # 0.004° of longitude at 35.5° N is about 360 m: its eastern edge 180 m outside.
    response = api_as(ops_user).post(
        "/api/v1/alerts",
        draft(area=square_around(139.44, 35.50, 0.002)),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content


def test_a_map_filter_area_only_has_to_touch_the_city(api_as, ops_user, city):
    area = square_around(139.42, 35.50, 0.5)

    response = api_as(ops_user).get("/api/v1/map/reports.geojson", {"area": json.dumps(area)})

    assert response.status_code == 200, response.content
