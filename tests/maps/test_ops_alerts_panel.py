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
        Delivery.objects.create(alert=alert, subscriber=person, channel="sms", status=status)
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
