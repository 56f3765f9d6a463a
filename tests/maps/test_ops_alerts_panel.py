"""The operations map's alerts panel: the opening snapshot carries, for every alert being
sent or recently sent, its delivery figures and safety answers as their events carry them
(counts only), and the need-help list is read by the page from the staff-only API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import Client
from django.utils import timezone

from alerts.delivery.event_kinds import DeliveryProgress, SafetyAnswers
from alerts.models import Alert, Delivery, SafetyAnswer, Subscriber
from disaster.core.geography import District
from tests.maps.test_views import ops_state

pytestmark = pytest.mark.django_db

PHONES = [f"+8190111122{i:02d}" for i in range(5)]


@pytest.fixture
def district() -> District:
    square = MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)), srid=4326)
    return District.objects.create(name="相模が丘", area=square)


def make_alert(title: str, status: str, sent_minutes_ago: int = 5, **extra) -> Alert:
    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja=title,
        body_ja="避難してください。",
        channels=["sms"],
        status=status,
        sent_at=timezone.now() - dt.timedelta(minutes=sent_minutes_ago),
        **extra,
    )


def resident(phone: str, district: District) -> Subscriber:
    person = Subscriber.objects.create(
        phone=phone,
        phone_confirmed_at=timezone.now(),
        language="ja",
        consent_method=Subscriber.ConsentMethod.STAFF,
    )
    person.districts.add(district)
    return person


def deliver(alert: Alert, district: District, *statuses: str) -> list[Subscriber]:
    people = []
    for phone, status in zip(PHONES, statuses, strict=False):
        person = resident(phone, district)
        Delivery.objects.create(
            alert=alert, subscriber=person, channel="sms", status=status, district=district
        )
        people.append(person)
    return people


def test_an_alert_being_sent_opens_with_its_delivery_figures_by_district(
    session_as, ops_user, district
):
    alert = make_alert("避難指示 相模が丘", Alert.Status.SENDING, is_drill=True)
    alert.districts.add(district)
    deliver(alert, district, "delivered", "delivered", "sent", "failed", "queued")

    state = ops_state(session_as(ops_user).get("/ops/"))

    (shown,) = state["deliveries"]
    assert (shown["id"], shown["title"], shown["drill"]) == (alert.pk, "避難指示 相模が丘", True)
    progress = DeliveryProgress.model_validate(shown["progress"])  # as the event carries it
    assert (progress.alert_id, progress.finished) == (alert.pk, False)
    assert (progress.queued, progress.sent, progress.delivered, progress.failed) == (1, 1, 2, 1)
    (by_district,) = progress.by_district
    assert by_district.district_id == district.pk
    assert (by_district.delivered, by_district.failed) == (2, 1)
    assert shown["asks_safety"] is False and shown["safety"] is None


FIGURES = {"district_id", "queued", "sent", "delivered", "failed", "reached"}


def test_every_district_carries_every_figure_as_the_delivery_api_gives_them(
    session_as, ops_user, district
):
    # Nothing delivered or failed yet: the page once divided undefined by the total here.
    alert = make_alert("送信直後", Alert.Status.SENDING)
    deliver(alert, district, "queued", "sending", "sent")
    client = session_as(ops_user)

    (shown,) = ops_state(client.get("/ops/"))["deliveries"]
    summary = client.get(f"/api/v1/alerts/{alert.pk}/delivery").json()

    (by_district,) = shown["progress"]["by_district"]
    assert set(by_district) == FIGURES
    assert by_district == {"district_id": district.pk, "queued": 2, "sent": 1} | {
        "delivered": 0,
        "failed": 0,
        "reached": 0,
    }
    assert summary["by_district"] == shown["progress"]["by_district"]
    assert {k: summary[k] for k in ("queued", "sent", "delivered", "failed", "reached")} == {
        "queued": 2,
        "sent": 1,
        "delivered": 0,
        "failed": 0,
        "reached": 0,
    }


def test_a_line_message_accepted_by_line_is_reached_an_sms_only_once_delivered(
    session_as, ops_user, district
):
    alert = make_alert("LINE と SMS", Alert.Status.SENT)
    rows = [
        ("line", "sent", "line-request-1"),  # LINE accepted it: LINE reports nothing more
        ("line", "failed", ""),
        ("sms", "sent", "SM1"),  # Twilio accepted it; delivery not yet reported
        ("sms", "delivered", "SM2"),
        ("line", "sent", "console-1"),  # the console took it: nobody got anything
    ]
    for n, (channel, status, provider_id) in enumerate(rows):
        person = resident(PHONES[n], district)
        Delivery.objects.create(
            alert=alert,
            subscriber=person,
            channel=channel,
            status=status,
            provider_id=provider_id,
            district=district,
        )

    summary = session_as(ops_user).get(f"/api/v1/alerts/{alert.pk}/delivery").json()

    assert (summary["sent"], summary["delivered"], summary["failed"]) == (3, 1, 1)
    assert summary["reached"] == 2  # the LINE message LINE accepted, the SMS delivered
    assert summary["console"] == 1
    (by_district,) = summary["by_district"]
    assert by_district["reached"] == 2


def test_the_safety_answers_open_counted_by_district_without_anyone_in_them(
    session_as, ops_user, district
):
    alert = make_alert("安否確認", Alert.Status.SENT, asks_safety=True)
    alert.districts.add(district)
    people = deliver(alert, district, "delivered", "delivered", "delivered")
    for person, answer in zip(people, ["need_help", "evacuated", "need_help"], strict=True):
        SafetyAnswer.objects.create(alert=alert, subscriber=person, answer=answer)

    response = session_as(ops_user).get("/ops/")

    (shown,) = ops_state(response)["deliveries"]
    assert shown["progress"]["finished"] is True
    safety = SafetyAnswers.model_validate(shown["safety"])
    (counts,) = safety.by_district
    assert (counts.district_id, counts.need_help, counts.evacuated) == (district.pk, 2, 1)
    # Every answer in every district, the ones nobody gave too.
    assert shown["safety"]["by_district"][0]["safe_at_home"] == 0
    assert all(phone.encode() not in response.content for phone in PHONES)


def test_only_alerts_sending_or_sent_within_the_answer_window_are_listed_newest_first(
    session_as, ops_user, settings
):
    settings.SAFETY_ANSWER_HOURS = 72
    older = make_alert("送信済み", Alert.Status.SENT, sent_minutes_ago=3 * 60)
    newer = make_alert("送信中", Alert.Status.SENDING)
    make_alert("三日より前", Alert.Status.SENT, sent_minutes_ago=73 * 60)
    make_alert("承認のみ", Alert.Status.APPROVED)
    make_alert("取消済み", Alert.Status.CANCELLED)
    make_alert("下書き", Alert.Status.DRAFT)

    state = ops_state(session_as(ops_user).get("/ops/"))

    assert [d["id"] for d in state["deliveries"]] == [newer.pk, older.pk]
    assert state["deliveries"][1]["progress"]["by_district"] == []


def test_the_need_help_list_is_read_by_the_page_with_its_staff_session_only(
    session_as, ops_user, manager_user, district
):
    alert = make_alert("安否確認", Alert.Status.SENT, asks_safety=True)
    (person,) = deliver(alert, district, "delivered")
    SafetyAnswer.objects.create(alert=alert, subscriber=person, answer="need_help")
    url = f"/api/v1/alerts/{alert.pk}/need-help"

    listed = session_as(ops_user).get(url)

    assert listed.status_code == 200
    assert [(row["subscriber_id"], row["phone"]) for row in listed.json()] == [
        (person.pk, PHONES[0])
    ]
    assert listed.json()[0]["district_ids"] == [district.pk]
    assert Client().get(url).status_code == 401
    assert session_as(manager_user).get(url).status_code == 403
