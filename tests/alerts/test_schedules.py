"""Scheduled preparedness messages: always "information", sent once per run on time (Tokyo
time), repeating as asked, and checked like any draft."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from alerts.authoring.schedules import following, send_due
from alerts.jobs import send_alert
from alerts.models import Alert, ScheduledMessage

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def empty_job_queue(db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def schedule(api_as, user, **changes):
    body = {
        "title_ja": "シェイクアウト訓練のお知らせ",
        "body_ja": "11月5日10時に一斉に身を守る訓練を行います。",
        "title_en": "ShakeOut drill",
        "body_en": "Drop, cover and hold on at 10:00 on 5 November.",
        "channels": ["line", "sms"],
        "whole_city": True,
        "first_at": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
        "repeat": "yearly",
        **changes,
    }
    return api_as(user).post("/api/v1/schedules", body, content_type="application/json")


def test_a_due_message_is_sent_once_as_information_and_moves_to_next_year(api_as, ops_user):
    created = schedule(api_as, ops_user)
    assert created.status_code == 201, created.content
    first_at = ScheduledMessage.objects.get().next_run_at

    sent = send_due(first_at + dt.timedelta(seconds=30))
    again = send_due(first_at + dt.timedelta(seconds=40))

    [alert] = sent
    assert again == []
    assert alert.kind == "information" and alert.status == "approved" and alert.whole_city
    assert alert.title_en == "ShakeOut drill"
    assert ProcrastinateJob.objects.filter(task_name=send_alert.name).count() == 1
    plan = ScheduledMessage.objects.get()
    assert plan.last_alert == alert and plan.active
    assert timezone.localtime(plan.next_run_at).year == timezone.localtime(first_at).year + 1


def test_nothing_is_sent_before_its_time(api_as, ops_user):
    schedule(api_as, ops_user)

    assert send_due() == []
    assert not Alert.objects.exists()


def test_a_once_message_stops_after_it_is_sent(api_as, ops_user):
    schedule(api_as, ops_user, repeat="once")
    plan = ScheduledMessage.objects.get()

    send_due(plan.next_run_at)

    plan.refresh_from_db()
    assert not plan.active
    assert send_due(plan.next_run_at + dt.timedelta(days=400)) == []


def test_runs_missed_while_down_are_sent_once_not_once_per_missed_day(api_as, ops_user):
    schedule(api_as, ops_user, repeat="daily")
    plan = ScheduledMessage.objects.get()

    sent = send_due(plan.next_run_at + dt.timedelta(days=3, hours=1))

    plan.refresh_from_db()
    assert len(sent) == 1
    assert plan.next_run_at > plan.last_alert.approved_at


def test_a_stopped_schedule_sends_nothing(api_as, ops_user):
    plan_id = schedule(api_as, ops_user).json()["id"]

    assert api_as(ops_user).post(f"/api/v1/schedules/{plan_id}/stop").json()["active"] is False
    assert send_due(timezone.now() + dt.timedelta(days=2)) == []
    assert api_as(ops_user).post(f"/api/v1/schedules/{plan_id}/stop").status_code == 409


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"first_at": "2020-01-01T09:00:00+09:00"}, "first_at"),
        ({"body_ja": ""}, "body_ja"),
        ({"whole_city": False}, "target"),
        ({"title_ja": "お知らせ" * 60}, "title_ja"),  # over 200 characters
        ({"repeat": "hourly"}, "repeat"),
    ],
)
def test_a_bad_schedule_is_refused_with_the_field(api_as, ops_user, changes, field):
    response = schedule(api_as, ops_user, **changes)

    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ScheduledMessage.objects.exists()


def test_repeats_keep_the_time_of_day_in_tokyo_and_the_end_of_the_month():
    jan31 = dt.datetime(2027, 1, 31, 9, 0, tzinfo=TOKYO)

    assert following(jan31, "monthly") == dt.datetime(2027, 2, 28, 9, 0, tzinfo=TOKYO)
    assert following(jan31, "weekly") == dt.datetime(2027, 2, 7, 9, 0, tzinfo=TOKYO)
    assert following(dt.datetime(2028, 2, 29, 9, tzinfo=TOKYO), "yearly").day == 28
    assert following(jan31, "once") is None


def test_shelter_managers_cannot_schedule(api_as, manager_user):
    assert schedule(api_as, manager_user).status_code == 403


def test_two_alerts_approved_one_after_the_other_both_queue_their_sending(
    api_as, ops_user, make_user
):
    from alerts.authoring import services
    from tests.alerts.review import approve

    other = make_user("ops2", "operations")
    for _ in range(2):
        created = services.draft_alert(
            ops_user,
            services.Draft(
                kind="evacuation_3",
                texts={"title_ja": "高齢者等避難", "body_ja": "避難を始めてください"},
                channels=["line"],
                whole_city=True,
            ),
        )
        approve(other, created)

    assert ProcrastinateJob.objects.filter(task_name=send_alert.name).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_message_reaches_each_subscriber_in_their_language_as_information(
    api_as, ops_user, fake_line, fake_twilio
):
    from alerts.delivery import fanout
    from tests.alerts.delivery_helpers import subscriber

    subscriber(line_user_id="U" + "1" * 32, language="ja")
    subscriber(line_user_id="U" + "2" * 32, language="en")
    subscriber(line_user_id="U" + "3" * 32, language="vi")  # no Vietnamese text: Japanese
    schedule(api_as, ops_user, channels=["line"])
    [alert] = send_due(ScheduledMessage.objects.get().next_run_at)

    fanout.send(alert.pk)

    texts = dict(fake_line.deliveries)
    assert "シェイクアウト訓練のお知らせ" in texts["U" + "1" * 32]
    assert "ShakeOut drill" in texts["U" + "2" * 32]
    assert "シェイクアウト訓練のお知らせ" in texts["U" + "3" * 32]
    for text in texts.values():  # information, never worded as an evacuation order
        assert "警戒レベル" not in text and "Alert level" not in text and "避難指示" not in text
