"""Residents' side, end to end: signed LINE webhooks and Twilio inbound SMS in, damage
reports, shelters and privacy answers out through the fake LINE and Twilio servers.

Payloads start from LINE's own samples in shared/data; photos are fetched by the real
line-bot-sdk from the fake's content API.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _
from PIL import Image

from alerts.delivery.messages import fits_one_sms
from alerts.models import (
    LineConversation,
    PendingPhoto,
    SafetyAnswer,
    SeenLineEvent,
    Subscriber,
)
from alerts.residents.sms_bot import sms_help
from disaster.core import languages
from disaster.core.events import flush_broadcasts
from disaster.core.geography import District
from disaster.core.models import AuditEntry, Event, RateWindow
from disaster.reports.models import DamageReport
from shelters.models import HeadCount, Shelter
from tests.alerts.delivery_helpers import city_alert, subscriber
from tests.alerts.line_events import (
    SAMPLE,
    USER,
    image_event,
    location_event,
    post_line,
    postback,
    sample,
    text_event,
)
from tests.alerts.test_webhooks import post_twilio
from tests.disaster.test_reports import photo_with_gps
from tests.disaster.test_websocket import TIMEOUT, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

CITY_HALL = (35.4887, 139.4075)  # 座間市役所, inside the configured city box
TOKYO = (35.65910807942215, 139.70372892916203)  # the location in LINE's sample payload
PHONE = "+819012340000"


@pytest.fixture
def shelters(db) -> dict[str, Shelter]:
    """Three open shelters at growing distances from the city hall, one closed nearer."""

    def make(name: str, east: float, status: str, capacity: int = 100, inside: int = 0):
        shelter = Shelter.objects.create(
            name=name,
            address=f"神奈川県座間市{name}",
            point=Point(CITY_HALL[1] + east, CITY_HALL[0], srid=4326),
            capacity=capacity,
            hazards=["earthquake"],
            status=status,
        )
        if inside:
            HeadCount.objects.create(shelter=shelter, total=inside)
        return shelter

    return {
        "closed": make("閉鎖中の公民館", 0.001, "closed"),
        "near": make("座間小学校", 0.004, "open"),
        "middle": make("栗原中学校", 0.012, "open", inside=90),
        "far": make("相模が丘小学校", 0.030, "open", inside=100),
        "farthest": make("ひばりが丘小学校", 0.050, "open"),
    }


def last_reply(fake_line) -> dict:
    return fake_line.replies[-1]["messages"][0]


def quick_data(message: dict) -> list[str]:
    items = (message.get("quickReply") or {}).get("items", [])
    return [i["action"].get("data") or i["action"]["type"] for i in items]


def serve_photo(fake_line, message_id: str, data: bytes | None = None) -> bytes:
    data = data or photo_with_gps()
    fake_line.contents[message_id] = (data, "image/jpeg")
    return data


def test_a_photo_then_a_location_make_one_report_answered_with_its_number_and_shelters(
    client, fake_line, shelters, api_as, ops_user
):
    subscriber(line_user_id=USER)
    serve_photo(fake_line, "m-1")

    post_line(client, [image_event("m-1")])
    assert not DamageReport.objects.exists()
    asked = last_reply(fake_line)
    assert "位置情報" in asked["text"] and "location" in quick_data(asked)

    post_line(client, [location_event(*CITY_HALL)])

    report = DamageReport.objects.get()
    assert (report.source, report.status, report.address) == ("line", "new", "座間市役所前")
    assert report.reporter_contact == f"LINE:{USER}"
    assert (round(report.point.y, 4), round(report.point.x, 4)) == CITY_HALL
    (photo,) = report.photos.all()
    assert not Image.open(photo.public.open()).getexif()  # no GPS in the copy others see
    answer = last_reply(fake_line)["text"]
    assert f"No.{report.pk}" in answer
    # The three nearest accepting people, nearest first, with a band and a map link.
    names = [s.name for s in (shelters["near"], shelters["middle"], shelters["far"])]
    assert [answer.index(name) for name in names] == sorted(answer.index(n) for n in names)
    assert "閉鎖中" not in answer and "ひばりが丘" not in answer
    assert "空き" in answer and "混雑" in answer and "満員" in answer
    assert answer.count("https://maps.gsi.go.jp/#17/") == 3
    assert "360m" in answer  # 0.004° of longitude at 35.5° N, in a straight line
    # Operations staff see the sender; nobody else does.
    seen = api_as(ops_user).get(f"/api/v1/reports/{report.pk}").json()
    assert seen["reporter_contact"] == f"LINE:{USER}" and seen["source"] == "line"


def test_a_location_then_a_photo_and_words_make_one_report(client, fake_line, shelters):
    subscriber(line_user_id=USER)
    serve_photo(fake_line, "m-2")

    post_line(client, [location_event(*CITY_HALL)])
    first = last_reply(fake_line)
    assert "座間小学校" in first["text"]  # a location alone answers with shelters
    assert {"camera", "cameraRoll"} <= set(quick_data(first))
    assert not DamageReport.objects.exists()

    post_line(client, [image_event("m-2")])
    post_line(client, [text_event("ブロック塀が倒れて道をふさいでいます")])

    report = DamageReport.objects.get()
    assert report.photos.count() == 1
    assert report.description == "ブロック塀が倒れて道をふさいでいます"
    assert "No." in last_reply(fake_line)["text"] and "追加" in last_reply(fake_line)["text"]


def test_words_and_a_location_make_a_report_of_the_kind_the_words_say(
    client, fake_line, shelters, published
):
    post_line(client, [text_event("火事です。煙が出ています")])  # not even a subscriber
    post_line(client, [location_event(*CITY_HALL)])

    report = DamageReport.objects.get()
    assert (report.category, report.severity) == ("fire", 4)
    choices = quick_data(last_reply(fake_line))
    assert f"category={report.pk}:people" in choices and len(choices) == 12
    (created,) = published("report.created")
    assert created["source"] == "line" and USER not in json.dumps(created)


def test_pieces_further_apart_than_the_window_are_not_joined(client, fake_line, shelters, settings):
    serve_photo(fake_line, "m-3")
    post_line(client, [image_event("m-3")])
    LineConversation.objects.update(
        updated_at=dt.datetime.now(dt.UTC)
        - dt.timedelta(minutes=settings.RESIDENT_PIECES_MINUTES + 1)
    )

    post_line(client, [location_event(*CITY_HALL)])

    assert not DamageReport.objects.exists()  # the old photo was forgotten


def test_the_reporter_may_set_the_category_until_staff_triage_it(
    client, fake_line, shelters, ops_user
):
    post_line(client, [text_event("道がふさがっています")])
    post_line(client, [location_event(*CITY_HALL)])
    report = DamageReport.objects.get()

    post_line(client, [postback(f"category={report.pk}:people", user="U" + "f" * 32)])
    report.refresh_from_db()
    assert report.category == "road_blocked"  # someone else's tap changes nothing

    post_line(client, [postback(f"category={report.pk}:landslide")])
    report.refresh_from_db()
    assert report.category == "landslide"
    assert report.history.filter(action="recategorise").exists()

    from disaster.reports.services import verify

    verify(ops_user, report.pk)
    post_line(client, [postback(f"category={report.pk}:fire")])
    report.refresh_from_db()
    assert report.category == "landslide" and "変えられません" in last_reply(fake_line)["text"]


def test_a_redelivered_photo_makes_no_second_report(client, fake_line, shelters):
    serve_photo(fake_line, "m-4")
    post_line(client, [location_event(*CITY_HALL)])
    first = image_event("m-4", webhookEventId="01HEVENT0000000000000000")
    again = {**first, "deliveryContext": {"isRedelivery": True}}

    post_line(client, [first])
    post_line(client, [again])

    assert DamageReport.objects.get().photos.count() == 1
    assert SeenLineEvent.objects.filter(event_id="01HEVENT0000000000000000").exists()


@pytest.mark.parametrize("kind", ["sticker", "video", "audio"])
def test_unsupported_messages_get_a_polite_answer_and_the_menu(client, fake_line, kind):
    event = next(
        e for e in SAMPLE["events"] if e["type"] == "message" and e["message"]["type"] == kind
    )
    post_line(client, [event])

    answer = last_reply(fake_line)
    assert "対応していません" in answer["text"]
    assert "menu=report" in quick_data(answer) and "menu=shelters" in quick_data(answer)
    assert not LineConversation.objects.filter(text__gt="").exists()


def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_kept(client, fake_line, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 1000
    serve_photo(fake_line, "m-5", b"\xff\xd8" + b"0" * 5000)

    post_line(client, [image_event("m-5")])

    assert "大きすぎます" in last_reply(fake_line)["text"]
    assert not PendingPhoto.objects.exists()


def test_a_photo_line_no_longer_has_asks_to_send_it_again(client, fake_line):
    post_line(client, [image_event("gone")])  # the fake answers 404, as LINE does later

    assert "もう一度" in last_reply(fake_line)["text"]
    assert not PendingPhoto.objects.exists()


def test_something_that_is_not_a_photo_is_refused(client, fake_line):
    serve_photo(fake_line, "m-6", b"%PDF-1.7 not a photo")

    post_line(client, [image_event("m-6")])

    assert "写真" in last_reply(fake_line)["text"]
    assert not PendingPhoto.objects.exists()


def test_a_location_outside_the_city_is_answered_so_and_kept_nowhere(client, fake_line):
    subscriber(line_user_id=USER)

    post_line(client, [location_event(*TOKYO)])

    assert "座間市の外" in last_reply(fake_line)["text"]
    assert not LineConversation.objects.exclude(point=None).exists()
    assert Subscriber.objects.get(line_user_id=USER).home is None


def test_a_sender_flooding_the_bot_is_answered_once_then_ignored(client, fake_line, settings):
    settings.RESIDENT_MESSAGES_PER_MINUTE = 3
    for _n in range(6):
        post_line(client, [text_event("メニュー")])

    texts = fake_line.replied_texts()
    assert len(texts) == 4 and "多すぎます" in texts[3]
    other = "U" + "e" * 32
    post_line(client, [text_event("メニュー", user=other)])  # others are not held back
    assert len(fake_line.replies) == 5


def test_the_menu_answers_each_entry(client, fake_line, shelters):
    person = subscriber(line_user_id=USER)
    person.home = Point(CITY_HALL[1], CITY_HALL[0], srid=4326)
    person.save()

    post_line(client, [text_event("メニュー")])
    assert quick_data(last_reply(fake_line)) == [
        "menu=report",
        "menu=shelters",
        "menu=settings",
        "menu=data",
        "menu=stop",
    ]
    post_line(client, [postback("menu=report")])
    assert {"camera", "cameraRoll", "location"} == set(quick_data(last_reply(fake_line)))
    post_line(client, [postback("menu=shelters")])
    assert "自宅の近く" in last_reply(fake_line)["text"]
    assert "座間小学校" in last_reply(fake_line)["text"]
    post_line(client, [postback("menu=settings")])
    assert "lang=en" in quick_data(last_reply(fake_line))
    post_line(client, [postback("menu=data")])
    data = last_reply(fake_line)
    assert "日本語" in data["text"] and "登録あり" in data["text"]
    assert quick_data(data) == ["menu=stop"]
    post_line(client, [postback("menu=stop")])
    assert quick_data(last_reply(fake_line)) == ["forget=yes", "menu=main"]
    assert Subscriber.objects.filter(line_user_id=USER).exists()  # only asked so far


def test_settings_ask_for_home_and_the_next_location_sets_it(client, fake_line, shelters):
    subscriber(line_user_id=USER)

    post_line(client, [postback("lang=en")])
    assert "location" in quick_data(last_reply(fake_line))
    post_line(client, [location_event(*CITY_HALL)])

    home = Subscriber.objects.get(line_user_id=USER).home
    assert (round(home.y, 4), round(home.x, 4)) == CITY_HALL
    answer = last_reply(fake_line)["text"]
    # In English, with the shelters' romanised names.
    assert "home" in answer.lower() and shelters["near"].name_en in answer
    assert "座間小学校" not in answer and shelters["near"].name_en
    assert not DamageReport.objects.exists()


def test_deleting_by_line_leaves_nothing_of_the_resident_behind(
    client, fake_line, fake_twilio, shelters
):
    person = subscriber(line_user_id=USER)
    district = District.objects.create(
        name="緑ケ丘", area=MultiPolygon(Polygon.from_bbox((139.3, 35.4, 139.5, 35.6)))
    )
    person.districts.add(district)
    alert = city_alert(("line",))
    alert.asks_safety = True
    alert.save()
    from alerts.delivery import fanout

    fanout.send(alert.pk)
    post_line(client, [postback(f"safety={alert.pk}:safe_at_home")])
    serve_photo(fake_line, "m-7")
    post_line(client, [image_event("m-7")])
    post_line(client, [location_event(*CITY_HALL)])
    post_line(client, [text_event("写真を撮りました")])  # starts nothing: adds to the report
    report = DamageReport.objects.get()
    assert SafetyAnswer.objects.exists() and LineConversation.objects.exists()

    post_line(client, [postback("menu=data")])
    assert f"No.{report.pk}" in last_reply(fake_line)["text"]
    post_line(client, [postback("forget=yes")])

    assert "削除しました" in last_reply(fake_line)["text"]
    assert tables_mentioning(USER) == []
    assert not RateWindow.objects.exists() and not Subscriber.objects.exists()
    report.refresh_from_db()  # the damage stays on the map, without who said it
    assert report.reporter_contact == "" and report.client_key == ""
    assert report.description == "写真を撮りました" and report.photos.count() == 1


def tables_mentioning(secret: str) -> list[str]:
    """Every table of ours with a row whose text holds `secret` (a LINE id, a number)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        found = []
        for table in tables:
            cursor.execute(
                f'SELECT 1 FROM "{table}" t WHERE strpos(t::text, %s) > 0 LIMIT 1',  # noqa: S608
                [secret],
            )
            if cursor.fetchone():
                found.append(table)
    return found


def test_unfollow_also_unlinks_the_reports_sent(client, fake_line, shelters):
    post_line(client, [text_event("停電しています")])
    post_line(client, [location_event(*CITY_HALL)])
    unfollow = {**sample("follow"), "type": "unfollow"}
    del unfollow["follow"]

    post_line(client, [unfollow])

    assert tables_mentioning(USER) == []
    assert DamageReport.objects.get().category == "power"


async def test_a_report_sent_by_line_reaches_the_operations_room_live(
    fake_line, shelters, ops_user
):
    socket, connected, _code = await open_socket(ops_user)
    assert connected

    @database_sync_to_async
    def report_by_line() -> int:
        client = Client()
        serve_photo(fake_line, "m-8")
        post_line(client, [image_event("m-8")])
        post_line(client, [location_event(*CITY_HALL)])
        flush_broadcasts()
        return DamageReport.objects.get().pk

    report_id = await report_by_line()
    message = await socket.receive_json_from(TIMEOUT)
    while message["kind"] != "report.created":
        message = await socket.receive_json_from(TIMEOUT)

    assert message["payload"]["id"] == report_id and message["payload"]["source"] == "line"
    assert USER not in json.dumps(message)
    await socket.disconnect()


# --- SMS ---------------------------------------------------------------------------------


@pytest.fixture
def kurihara(db) -> District:
    """A district around the three open shelters, with its postal codes."""
    west, south = CITY_HALL[1] - 0.01, CITY_HALL[0] - 0.01
    return District.objects.create(
        name="栗原",
        name_en="Kurihara",
        area=MultiPolygon(Polygon.from_bbox((west, south, west + 0.02, south + 0.02))),
        postal_codes=["2520013", "2520014"],
    )


def sms(client, body: str, number: str = PHONE) -> str:
    response = post_twilio(client, "/hooks/twilio/sms", {"From": number, "Body": body})
    assert response.status_code == 200
    from xml.etree import ElementTree

    found = ElementTree.fromstring(response.content).find("Message")
    return "" if found is None else found.text or ""


@pytest.mark.parametrize("body", ["避難所 栗原", "避難所　〒252-0013", "ひなんじょ 2520014"])
def test_an_sms_asks_for_the_nearest_open_shelter_by_district_or_postal_code(
    client, fake_twilio, shelters, kurihara, body
):
    answer = sms(client, body)

    assert answer.startswith("栗原 近くの避難所:")
    assert "座間小学校" in answer and "閉鎖中" not in answer
    assert len(answer) <= 70  # one Japanese SMS


def test_an_english_sms_gets_an_english_answer(client, fake_twilio, shelters, kurihara):
    answer = sms(client, "SHELTER kurihara")

    assert answer.startswith("Near Kurihara:")
    assert shelters["near"].name_en in answer and "Space" in answer and fits_one_sms(answer)


def test_an_unknown_place_or_none_says_how_to_ask(client, fake_twilio, kurihara):
    assert "見つかりません" in sms(client, "避難所 どこか")
    assert "例" in sms(client, "避難所")
    assert "郵便番号" in sms(client, "HELP") or "postal" in sms(client, "HELP").lower()


def test_sms_help_data_and_stop(client, fake_twilio, kurihara):
    person = subscriber(phone=PHONE)
    person.districts.add(kurihara)

    help_text = sms(client, "ヘルプ")
    assert "避難所" in help_text and len(help_text) <= 70
    data = sms(client, "データ")
    assert "栗原" in data and len(data) <= 70
    assert "削除" in sms(client, "停止")
    assert tables_mentioning(PHONE) == []


def test_need_help_by_sms_still_answers_a_safety_check(client, fake_twilio, fake_line):
    from alerts.delivery import fanout

    person = subscriber(phone=PHONE)
    alert = city_alert(("sms",))
    alert.asks_safety = True
    alert.save()
    fanout.send(alert.pk)

    sms(client, "help")

    assert SafetyAnswer.objects.get(subscriber=person).answer == "need_help"


def test_an_sms_flood_is_answered_once_then_silently(client, fake_twilio, kurihara, settings):
    settings.RESIDENT_MESSAGES_PER_MINUTE = 2
    answers = [sms(client, "避難所 栗原") for _ in range(5)]

    assert [bool(a) for a in answers] == [True, True, True, False, False]
    assert "多すぎます" in answers[2]


def test_nothing_personal_is_logged_or_published(client, fake_line, shelters, caplog):
    caplog.set_level("DEBUG")
    post_line(client, [text_event("断水しています")])
    post_line(client, [location_event(*CITY_HALL)])
    post_line(client, [postback("menu=data")])

    assert USER not in caplog.text
    assert USER not in json.dumps(list(Event.objects.values_list("payload", flat=True)))
    assert USER not in json.dumps(list(AuditEntry.objects.values_list("after", flat=True)))


def test_the_photo_is_kept_as_sent_for_operations_staff(
    client, fake_line, shelters, api_as, ops_user
):
    sent = serve_photo(fake_line, "m-9")
    post_line(client, [image_event("m-9")])
    post_line(client, [location_event(*CITY_HALL)])
    report = api_as(ops_user).get(f"/api/v1/reports/{DamageReport.objects.get().pk}").json()

    original = api_as(ops_user).get(report["photos"][0]["original_url"])
    assert b"".join(original.streaming_content) == sent
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(0x8825)


def test_stale_pieces_seen_events_and_rate_windows_are_pruned(client, fake_line, settings):
    from alerts.jobs import forget_stale_conversations

    serve_photo(fake_line, "m-10")
    post_line(client, [image_event("m-10", webhookEventId="01OLD")])
    post_line(client, [text_event("メニュー", user="U" + "d" * 32)])
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    LineConversation.objects.update(updated_at=long_ago)
    SeenLineEvent.objects.filter(event_id="01OLD").update(at=long_ago)
    RateWindow.objects.update(started_at=long_ago)
    post_line(client, [text_event("いまの説明", user="U" + "c" * 32)])  # fresh: kept

    pruned = forget_stale_conversations()

    assert pruned == {"conversations": 1, "photos": 1, "events": 1, "rate_windows": 2}
    assert list(LineConversation.objects.values_list("text", flat=True)) == ["いまの説明"]


@pytest.mark.parametrize("text", ["help", "ヘルプ", "3", "無事"])
def test_keywords_and_stray_safety_words_open_the_menu_not_a_report(client, fake_line, text):
    subscriber(line_user_id=USER)

    post_line(client, [text_event(text)])

    assert quick_data(last_reply(fake_line))[0] == "menu=report"
    assert not LineConversation.objects.filter(text__gt="").exists()


def test_several_photos_sent_at_once_all_join_the_report(client, fake_line, shelters):
    for n in range(3):
        serve_photo(fake_line, f"set-{n}")
    post_line(client, [image_event(f"set-{n}", webhookEventId=f"01SET{n}") for n in range(3)])
    post_line(client, [location_event(*CITY_HALL)])

    assert DamageReport.objects.get().photos.count() == 3
    assert not PendingPhoto.objects.exists()


# --- found in review --------------------------------------------------------------------


def test_after_choosing_a_district_a_photo_and_a_place_still_make_a_report(
    client, fake_line, shelters, kurihara
):
    subscriber(line_user_id=USER)
    serve_photo(fake_line, "m-11")
    post_line(client, [postback("lang=ja")])  # asks for a district or the home location
    post_line(client, [postback(f"district={kurihara.pk}")])

    post_line(client, [image_event("m-11", webhookEventId="01AFTERDISTRICT")])
    post_line(client, [location_event(*CITY_HALL)])

    assert DamageReport.objects.get().photos.count() == 1
    assert Subscriber.objects.get(line_user_id=USER).home is None


def test_a_district_chosen_replaces_the_one_before_and_the_list_pages(client, fake_line):
    person = subscriber(line_user_id=USER)
    for n in range(15):
        District.objects.create(
            name=f"地区{n:02d}", area=MultiPolygon(Polygon.from_bbox((139.3, 35.4, 139.5, 35.6)))
        )
    post_line(client, [postback("lang=ja")])
    first_page = quick_data(last_reply(fake_line))
    assert first_page[0] == "location" and first_page[-1] == "districts=11"
    assert len(first_page) == 13
    post_line(client, [postback("districts=11")])
    second_page = quick_data(last_reply(fake_line))
    assert len(second_page) == 1 + 4 and "districts=" not in second_page[-1]

    chosen = [District.objects.get(name=name) for name in ("地区01", "地区14")]
    for district in chosen:
        post_line(client, [postback(f"district={district.pk}")])

    assert list(person.districts.all()) == [chosen[1]]


def test_a_broken_photo_is_refused_when_it_arrives_and_blocks_nothing(client, fake_line, shelters):
    out = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(out, format="JPEG")
    serve_photo(fake_line, "m-12", out.getvalue()[:3000])

    post_line(client, [image_event("m-12")])
    assert "JPEG" in last_reply(fake_line)["text"] and not PendingPhoto.objects.exists()
    post_line(client, [text_event("水があふれています")])
    post_line(client, [location_event(*CITY_HALL)])

    assert DamageReport.objects.get().category == "flooding"


def test_an_event_that_fails_is_logged_without_the_user_and_the_others_go_on(
    client, fake_line, caplog
):
    subscriber(line_user_id=USER)
    too_long = "U" + "9" * 99  # no LINE id is this long: the database refuses to store it

    response = post_line(client, [text_event("倒木です", user=too_long), text_event("メニュー")])

    assert response.status_code == 200
    assert "LINE event message failed: DataError" in caplog.text and too_long not in caplog.text
    assert quick_data(last_reply(fake_line))[0] == "menu=report"  # the second was answered


def test_a_redelivery_racing_its_first_delivery_makes_one_report(fake_line, shelters, settings):
    import threading

    post_line(Client(), [location_event(*CITY_HALL)])
    serve_photo(fake_line, "m-13")
    first = image_event("m-13", webhookEventId="01RACE")
    again = {**first, "deliveryContext": {"isRedelivery": True}}
    start = threading.Barrier(2)
    statuses = []

    def deliver(event: dict) -> None:
        start.wait()
        statuses.append(post_line(Client(), [event]).status_code)

    threads = [threading.Thread(target=deliver, args=(e,)) for e in (first, again)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200]
    assert DamageReport.objects.get().photos.count() == 1


def test_a_safety_word_long_after_the_check_answers_nothing(client, fake_twilio, fake_line):
    from alerts.delivery import fanout
    from alerts.models import Alert

    person = subscriber(phone=PHONE)
    alert = city_alert(("sms",))
    alert.asks_safety = True
    alert.save()
    fanout.send(alert.pk)
    Alert.objects.filter(pk=alert.pk).update(
        sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    )

    answer = sms(client, "help")

    assert not SafetyAnswer.objects.filter(subscriber=person).exists()
    assert "郵便番号" in answer or "postal" in answer.lower()


def test_words_after_a_report_s_window_start_a_new_report(client, fake_line, shelters, settings):
    post_line(client, [text_event("停電しています")])
    post_line(client, [location_event(*CITY_HALL)])
    DamageReport.objects.update(
        created_at=dt.datetime.now(dt.UTC)
        - dt.timedelta(minutes=settings.RESIDENT_PIECES_MINUTES + 1)
    )

    post_line(client, [text_event("ガスのにおいがします")])
    post_line(client, [location_event(*CITY_HALL)])

    assert sorted(DamageReport.objects.values_list("category", flat=True)) == ["gas", "power"]


def test_deletion_also_drops_the_original_photo_and_keeps_the_stripped_copy(
    client, fake_line, shelters, api_as, ops_user
):
    serve_photo(fake_line, "m-14")
    post_line(client, [image_event("m-14")])
    post_line(client, [location_event(*CITY_HALL)])
    report = DamageReport.objects.get()

    post_line(client, [postback("forget=yes")])

    seen = api_as(ops_user).get(f"/api/v1/reports/{report.pk}").json()
    (photo,) = seen["photos"]
    assert photo["original_url"] is None
    assert api_as(ops_user).get(f"{photo['url']}/original").status_code == 404
    public = b"".join(api_as(ops_user).get(photo["url"]).streaming_content)
    assert not Image.open(io.BytesIO(public)).getexif()


def test_stop_by_sms_unlinks_web_form_reports_with_that_number(
    client, fake_twilio, api_as, ops_user
):
    from disaster.reports.services import NewReport, create_report

    create_report(
        NewReport(*CITY_HALL, category="fire", severity=4, contact="090-1234-0000"),
        source="web",
    )

    sms(client, "STOP")

    assert DamageReport.objects.get().reporter_contact == ""


def test_my_data_by_sms_always_fits_one_message(client, fake_twilio):
    person = subscriber(phone=PHONE, language="en")
    for n in range(4):
        person.districts.add(
            District.objects.create(
                name=f"とても長い名前の地区その{n}",
                area=MultiPolygon(Polygon.from_bbox((139.3, 35.4, 139.5, 35.6))),
            )
        )

    answer = sms(client, "DATA")

    assert 0 < len(answer) <= 70


def test_an_sms_answer_counts_an_emoji_as_the_two_units_it_takes():
    from alerts.delivery.messages import sms_length
    from alerts.residents.shelter_finder import fit_sms

    cut = fit_sms("避難所🏫" * 30)

    assert sms_length("🏫") == 2 and sms_length(cut) <= 70 and cut.endswith("…")


def japanese_and(language: str, answer) -> tuple[str, str]:
    """An answer as our own code words it in Japanese and in `language`."""
    with translation.override("ja"):
        japanese = answer()
    with translation.override(language):
        return japanese, answer()


# Each keyword, and the language it is written in (English for the Latin-letter words many
# write whatever they read, and for Spanish, which has no catalogue).
KEYWORDS_IN = [
    ("HELP", "en"),
    ("AYUDA", "en"),
    ("帮助", "zh-hans"),
    ("ajuda", "pt-br"),
    ("도움말", "ko"),
    ("Tulong", "fil"),
    ("मद्दत", "ne"),
    ("giúp", "vi"),
]


@pytest.mark.parametrize("body, language", KEYWORDS_IN)
def test_help_from_a_stranger_is_answered_in_the_language_of_its_keyword(
    client, fake_twilio, body, language
):
    japanese, expected = japanese_and(language, sms_help)

    assert sms(client, body) == expected != japanese


@pytest.mark.parametrize("language", ["vi", "ne", "ja-easy"])
def test_a_subscriber_is_answered_in_the_language_they_chose(client, fake_twilio, language):
    subscriber(phone=PHONE, language=language)
    japanese, expected = japanese_and(languages.django_language(language), sms_help)

    assert sms(client, "HELP") == expected != japanese


def test_stop_says_it_in_the_language_of_its_keyword_and_forgets_the_number(client, fake_twilio):
    subscriber(phone=PHONE, language="ko")
    japanese, expected = japanese_and("ko", lambda: _("配信を停止し、登録情報を削除しました。"))

    assert sms(client, "중지") == expected != japanese
    assert not Subscriber.objects.filter(phone=PHONE).exists()


def test_help_in_japanese_is_answered_in_japanese(client, fake_twilio):
    assert sms(client, "ヘルプ").startswith("避難所 地区名か郵便番号")


@pytest.mark.parametrize(
    "body, language",
    [("避难所 kurihara", "zh-hans"), ("abrigo KURIHARA", "pt-br"), ("대피소 Kurihara", "ko")],
)
def test_the_shelter_keyword_works_in_the_residents_languages(
    client, fake_twilio, shelters, kurihara, body, language
):
    japanese, head = japanese_and(language, lambda: _("%(where)s 近くの避難所:"))

    answer = sms(client, body)

    # In the keyword's language, the district romanised: nothing its reader cannot read.
    assert answer.startswith(head % {"where": "Kurihara"}) and head != japanese
    assert "栗原" not in answer
