"""From JMA to residents, as the operations room lives it: a fake JMA feed serves a new
telegram; the poll updates the warnings panel and the worker's job drafts the suggested
alert; one staff member adopts it, another approves it, and it goes out through the fake
LINE and Twilio servers. The suggested call-up reaches staff the same way, and their answers
come back through their personal links."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from alerts.jobs import act_on_telegram, send_alert, send_call_up
from alerts.models import Alert, CallUpAnswer, Suggestion
from disaster.core.models import StaffContact, Staffing, Team
from disaster.core.roles import Role
from disaster.warnings import feed
from disaster.warnings import services as warnings
from disaster.warnings.services import ACT_ON_TELEGRAM
from tests.alerts.delivery_helpers import subscriber
from tests.alerts.review import read_and_approve
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample
from tests.maps.test_views import ops_state

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rule_table")]


@pytest.fixture(autouse=True)
def empty_job_queue(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def run_jobs(task_name: str, task) -> int:
    """Run the queued jobs of one task as the worker would (its function, its arguments)."""
    jobs = list(ProcrastinateJob.objects.filter(task_name=task_name, status="todo"))
    for job in jobs:
        task(**job.args)
        ProcrastinateJob.objects.filter(pk=job.pk).update(status="succeeded")
    return len(jobs)


def test_a_new_feed_entry_becomes_a_two_person_approved_alert_sent_by_the_fakes(
    settings, fake_jma_feed, fake_line, fake_twilio, session_as, api_as, ops_user, make_user
):
    settings.JMA_AREA_CODES = ["1420600"]  # 小田原市, where the sample's 警戒 is
    ops2 = make_user("ops2", Role.OPERATIONS)
    subscriber(line_user_id="U" + "a" * 32)
    subscriber(phone="+819011112222")
    page = session_as(ops_user)
    assert ops_state(page.get("/ops/"))["warnings"] == []

    fake_jma_feed.publish(sample(jma.KANAGAWA_LANDSLIDE[0]), title="土砂災害警戒情報")
    polled = feed.poll(fake_jma_feed.feed_url)
    assert len(polled.fetched) == 1
    panel = ops_state(page.get("/ops/"))
    assert [(w["area_name"], w["level_words"]) for w in panel["warnings"]] == [
        ("小田原市", "警戒レベル４相当")
    ]

    assert run_jobs(ACT_ON_TELEGRAM, act_on_telegram) == 1
    suggestion = Suggestion.objects.get()
    alert = suggestion.alert
    assert alert.status == Alert.Status.DRAFT and alert.drafted_by is None
    listed = api_as(ops_user).get("/api/v1/suggestions").json()
    assert listed[0]["telegram"]["id"] == polled.fetched[0]  # the telegram that caused it

    nobody_adopted = read_and_approve(api_as(ops_user), alert.pk)
    assert nobody_adopted.status_code == 403
    adopted = api_as(ops_user).post(
        f"/api/v1/suggestions/{suggestion.pk}/adopt",
        {"version": alert.version},
        content_type="application/json",
    )
    assert adopted.status_code == 200, adopted.content
    assert read_and_approve(api_as(ops_user), alert.pk).status_code == 403  # four eyes
    approved = read_and_approve(api_as(ops2), alert.pk)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    assert run_jobs(send_alert.name, send_alert) == 1
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT
    assert [user for user, _ in fake_line.deliveries] == ["U" + "a" * 32]
    line_text = fake_line.deliveries[0][1]
    assert "避難指示（土砂災害）" in line_text and "気象庁の発表: 小田原市に警戒" in line_text
    assert len(fake_twilio.messages) == 1


def test_a_suggested_call_up_reaches_the_teams_and_answers_come_back(
    settings, fake_line, fake_twilio, api_as, ops_user, make_user, published
):
    settings.JMA_AREA_CODES = ["1420600"]
    information = Team.objects.create(name="情報班", called_from=Staffing.CAUTION)
    shelters = Team.objects.create(name="避難所班", called_from=Staffing.EMERGENCY)
    later = Team.objects.create(name="復旧班", called_from=Staffing.EMERGENCY)
    a = make_user("tanaka", Role.OPERATIONS, first_name="一郎", last_name="田中")
    b = make_user("suzuki", Role.SHELTER_MANAGER)
    c = make_user("sato", Role.OPERATIONS)
    StaffContact.objects.create(user=a, team=information, line_user_id="U" + "b" * 32)
    StaffContact.objects.create(user=b, team=shelters, phone="+819033334444")
    StaffContact.objects.create(user=c, team=later)  # no contact: not called
    telegram = warnings.ingest(sample(jma.KANAGAWA_LANDSLIDE[0])).telegram
    act_on_telegram(telegram_id=telegram.pk)
    suggestion = Suggestion.objects.get()
    called = api_as(ops_user).post(f"/api/v1/suggestions/{suggestion.pk}/call-up")
    assert called.status_code == 200, called.content
    assert run_jobs(send_call_up.name, send_call_up) == 1
    assert [u for u, _ in fake_line.deliveries] == ["U" + "b" * 32]
    assert [m["to"] for m in fake_twilio.messages] == ["+819033334444"]
    text = fake_line.deliveries[0][1]
    assert "【職員参集】座間市は非常体制をとりました" in text

    row = CallUpAnswer.objects.get(staff=a)
    link = text.rsplit("\n", 1)[-1]
    assert link.endswith(f"/callup/{row.token}/")
    page = Client()
    page.get(f"/callup/{row.token}/")
    answered = page.post(f"/callup/{row.token}/", {"answer": "coming"})
    assert answered.status_code == 200
    assert CallUpAnswer.objects.get(pk=row.pk).answer == "coming"
    last = published("callup.changed")[-1]
    assert last["counts"] == {"waiting": 1, "coming": 1, "cannot": 0, "arrived": 0}
    assert "+8190" not in str(last) and "Ubbbb" not in str(last)  # no contact in events
    listed = api_as(ops_user).get("/api/v1/call-ups").json()
    assert {(s["team"], s["answer"]) for s in listed[0]["answers"]} == {
        ("情報班", "coming"),
        ("避難所班", "waiting"),
    }
    ops_page = Client()
    ops_page.force_login(ops_user)
    html = ops_page.get("/ops/callup/").content.decode()
    assert "情報班" in html and 'data-answer="coming"' in html
