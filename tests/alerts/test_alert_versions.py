"""Two people agree on the text, not on a row (DESIGN decision 11), through the API: every
edit of a draft is a version recording who made it; an approval names the version read
and is refused if the draft changed since; nobody who made any version approves it; a
reviewer may send a draft back with a comment. Each refusal sends nothing."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from alerts.authoring.versions import REVIEWED
from alerts.jobs import send_alert
from alerts.models import Alert, AlertVersion, Delivery
from disaster.core.models import AuditEntry
from disaster.core.roles import Role
from tests.alerts.delivery_helpers import subscriber
from tests.alerts.review import read_and_approve

pytestmark = pytest.mark.django_db

ONE_DISTRICT_NOTICE = {
    "kind": "information",
    "title_ja": "防災倉庫の点検",
    "body_ja": "明日、防災倉庫を点検します。",
    "channels": ["line", "sms"],
    "area": {
        "type": "Polygon",
        "coordinates": [
            [[139.40, 35.48], [139.42, 35.48], [139.42, 35.50], [139.40, 35.50], [139.40, 35.48]]
        ],
    },
}
CITY_WIDE_LEVEL_5 = {
    "kind": "evacuation_5",
    "title_ja": "緊急安全確保",
    "body_ja": "命の危険があります。直ちに身の安全を確保してください。",
    "channels": ["line", "sms"],
    "whole_city": True,
    "hazard": "flood",
}


@pytest.fixture(autouse=True)
def empty_job_queue(db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


@pytest.fixture
def ops2(make_user):
    return make_user("ops2", Role.OPERATIONS)


@pytest.fixture
def ops3(make_user):
    return make_user("ops3", Role.OPERATIONS)


@pytest.fixture
def notice(api_as, ops_user) -> dict:
    """ops's draft: an information notice for one drawn area (version 1)."""
    response = api_as(ops_user).post(
        "/api/v1/alerts", ONE_DISTRICT_NOTICE, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def put(client, alert_id: int, body: dict, **headers):
    return client.put(
        f"/api/v1/alerts/{alert_id}", body, content_type="application/json", headers=headers
    )


def approve(client, alert_id: int, body: dict | None = None, **headers):
    return client.post(
        f"/api/v1/alerts/{alert_id}/approve",
        body if body is not None else "",
        content_type="application/json",
        headers=headers,
    )


def assert_nothing_sent(alert_id: int, fake_line, fake_twilio) -> None:
    """Still a draft, no send job queued, and even the send job run by hand sends nothing."""
    alert = Alert.objects.get(pk=alert_id)
    assert (alert.status, alert.approved_by, alert.approved_at) == ("draft", None, None)
    assert not ProcrastinateJob.objects.filter(task_name=send_alert.name).exists()
    send_alert(alert_id=alert_id)
    assert not Delivery.objects.filter(alert_id=alert_id).exists()
    assert fake_line.deliveries == [] and fake_twilio.messages == []


@pytest.fixture
def residents(db):
    subscriber(line_user_id="U" + "1" * 32)
    subscriber(phone="+819012345678")


def test_a_colleague_who_rewrote_a_draft_cannot_approve_it_nor_can_its_drafter(
    api_as, ops_user, ops2, ops3, notice, residents, fake_line, fake_twilio
):
    rewritten = put(api_as(ops2), notice["id"], CITY_WIDE_LEVEL_5)
    assert rewritten.status_code == 200, rewritten.content
    assert rewritten.json()["version"] == 2
    assert rewritten.json()["drafted_by"] == "ops"  # the row's drafter did not change…
    assert rewritten.json()["editors"] == ["ops", "ops2"]  # …but both made a version

    by_rewriter = approve(api_as(ops2), notice["id"], {"version": 2})
    by_drafter = approve(api_as(ops_user), notice["id"], {"version": 2})

    for refused in (by_rewriter, by_drafter):
        assert refused.status_code == 403
        assert refused.json()["code"] == "four_eyes"
    assert_nothing_sent(notice["id"], fake_line, fake_twilio)
    assert api_as(ops2).get(f"/api/v1/alerts/{notice['id']}").json()["may_approve"] is False

    assert api_as(ops3).get(f"/api/v1/alerts/{notice['id']}").json()["may_approve"] is True
    by_third = approve(api_as(ops3), notice["id"], {"version": 2})

    assert by_third.status_code == 200, by_third.content
    assert by_third.json()["approved_by"] == "ops3"
    assert ProcrastinateJob.objects.filter(task_name=send_alert.name).count() == 1


def test_an_approval_of_a_version_that_was_changed_since_is_refused_saying_what_changed(
    api_as, ops_user, ops2, notice, residents, fake_line, fake_twilio
):
    read = api_as(ops2).get(f"/api/v1/alerts/{notice['id']}")
    assert read["ETag"] == '"1"' and read.json()["version"] == 1
    assert put(api_as(ops_user), notice["id"], CITY_WIDE_LEVEL_5).status_code == 200

    refused = approve(api_as(ops2), notice["id"], **{"If-Match": read["ETag"]})

    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "version_changed"
    assert body["version"] == 2 and body["changed_by"] == ["ops"]
    assert {"kind", "title_ja", "body_ja", "whole_city", "area", "hazard"} <= set(body["changed"])
    assert "種別" in body["message"] and "版 1" in body["message"] and "版 2" in body["message"]
    assert_nothing_sent(notice["id"], fake_line, fake_twilio)

    # Having read version 2, the reviewer may approve it.
    assert read_and_approve(api_as(ops2), notice["id"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "headers"),
    [(None, {}), ({}, {}), ({"version": None}, {})],
    ids=["no body", "empty body", "null version"],
)
def test_an_approval_that_names_no_version_is_refused(
    api_as, ops2, notice, body, headers, fake_line, fake_twilio
):
    refused = approve(api_as(ops2), notice["id"], body, **headers)

    assert refused.status_code == 428
    assert refused.json()["code"] == "version_required"
    assert "If-Match" in refused.json()["message"]
    assert_nothing_sent(notice["id"], fake_line, fake_twilio)


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ({"version": 1}, {"If-Match": '"2"'}, 422, "version"),
        (None, {"If-Match": "*"}, 422, "If-Match"),
        (None, {"If-Match": 'W/"1"'}, 422, "If-Match"),
        ({"version": 0}, {}, 422, "version"),
        ({"version": "one"}, {}, 422, "version"),
        ({"version": 99}, {}, 409, None),
    ],
)
def test_a_version_named_badly_is_refused_with_what_is_wrong(
    api_as, ops2, notice, body, headers, status, field
):
    refused = approve(api_as(ops2), notice["id"], body, **headers)

    assert refused.status_code == status, refused.content
    if field:
        assert field in {e["field"] for e in refused.json()["errors"]}
    assert Alert.objects.get().status == "draft"


def test_a_bare_version_number_in_if_match_is_understood(api_as, ops2, notice):
    assert approve(api_as(ops2), notice["id"], **{"If-Match": "1"}).status_code == 200


def test_a_draft_changed_behind_the_versions_back_is_not_approved(api_as, ops2, notice):
    # Nothing in Sonae writes an alert without a version; should anything ever, the row no
    # longer says what version 1 said and approving version 1 must not send it.
    Alert.objects.filter(pk=notice["id"]).update(body_ja="書き換えられた本文")

    refused = approve(api_as(ops2), notice["id"], {"version": 1})

    assert refused.status_code == 409
    assert refused.json()["changed"] == ["body_ja"]


def test_every_edit_is_a_version_with_who_when_and_a_diff_and_no_personal_data(
    api_as, ops_user, ops2, notice
):
    put(api_as(ops2), notice["id"], CITY_WIDE_LEVEL_5)
    put(api_as(ops_user), notice["id"], {**CITY_WIDE_LEVEL_5, "title_en": "Emergency"})

    listed = api_as(ops_user).get(f"/api/v1/alerts/{notice['id']}/versions")

    assert listed.status_code == 200
    v1, v2, v3 = listed.json()
    assert [(v["number"], v["made_by"]) for v in (v1, v2, v3)] == [
        (1, "ops"),
        (2, "ops2"),
        (3, "ops"),
    ]
    assert v1["changes"] == []
    kind = next(c for c in v2["changes"] if c["field"] == "kind")
    assert (kind["before"], kind["after"], kind["label"]) == ("information", "evacuation_5", "種別")
    assert v2["content"]["whole_city"] is True and v2["content"]["area"] is None
    assert [c["field"] for c in v3["changes"]] == ["title_en"]
    assert v3["changes"][0]["after"] == "Emergency"
    for version in (v1, v2, v3):
        assert set(version["content"]) == set(REVIEWED)
        assert v1["made_at"] <= version["made_at"]
    assert "phone" not in listed.content.decode() and "line_user_id" not in listed.content.decode()


def test_the_audit_log_shows_each_version_with_its_content(api_as, ops_user, ops2, notice):
    put(api_as(ops2), notice["id"], CITY_WIDE_LEVEL_5)

    entries = AuditEntry.objects.filter(target_id=str(notice["id"])).order_by("id")

    drafted, updated = [e for e in entries if e.action in {"alert.draft", "alert.update"}]
    assert (drafted.actor_name, drafted.after["version"], drafted.before) == ("ops", 1, None)
    assert drafted.after["kind"] == "information"
    assert (updated.actor_name, updated.after["version"]) == ("ops2", 2)
    assert (updated.before["kind"], updated.after["kind"]) == ("information", "evacuation_5")


def test_saving_a_draft_unchanged_makes_no_version_and_no_editor(api_as, ops2, notice):
    same = {k: notice[k] for k in ("kind", "title_ja", "body_ja", "channels", "area")}

    saved = put(api_as(ops2), notice["id"], same)

    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert saved.json()["editors"] == ["ops"]
    assert approve(api_as(ops2), notice["id"], {"version": 1}).status_code == 200


def test_an_edit_based_on_an_older_version_is_refused_not_overwriting(
    api_as, ops_user, ops2, notice
):
    put(api_as(ops_user), notice["id"], {**ONE_DISTRICT_NOTICE, "body_ja": "点検は午後です。"})

    stale = put(api_as(ops2), notice["id"], CITY_WIDE_LEVEL_5, **{"If-Match": '"1"'})

    assert stale.status_code == 409 and stale.json()["code"] == "version_changed"
    alert = Alert.objects.get()
    assert (alert.version, alert.kind, alert.body_ja) == (2, "information", "点検は午後です。")


def test_a_reviewer_sends_a_draft_back_with_a_comment_the_drafter_sees(
    api_as, ops_user, ops2, notice, published
):
    sent_back = api_as(ops2).post(
        f"/api/v1/alerts/{notice['id']}/send-back",
        {"version": 1, "comment": "  対象地区をもう一度確認してください。 "},
        content_type="application/json",
    )

    assert sent_back.status_code == 200, sent_back.content
    assert sent_back.json()["status"] == "draft"
    seen = api_as(ops_user).get(f"/api/v1/alerts/{notice['id']}").json()
    [comment] = seen["send_backs"]
    assert comment["by"] == "ops2" and comment["version"] == 1
    assert comment["comment"] == "対象地区をもう一度確認してください。"
    versions = api_as(ops_user).get(f"/api/v1/alerts/{notice['id']}/versions").json()
    assert versions[0]["send_backs"][0]["comment"] == comment["comment"]
    entry = AuditEntry.objects.get(action="alert.send_back")
    assert (entry.actor_name, entry.after["version"]) == ("ops2", 1)
    assert published("alert.sent_back")[-1]["id"] == notice["id"]
    assert not ProcrastinateJob.objects.exists()
    # The reviewer who only sent it back may still approve the next version.
    put(api_as(ops_user), notice["id"], {**ONE_DISTRICT_NOTICE, "title_ja": "倉庫点検（訂正）"})
    assert read_and_approve(api_as(ops2), notice["id"]).status_code == 200


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("ops", {"version": 1, "comment": "自分で差し戻す"}, 403),
        ("ops2", {"version": 1, "comment": "   "}, 422),
        ("ops2", {"comment": "版なし"}, 428),
        ("ops2", {"version": 2, "comment": "ない版"}, 409),
    ],
    ids=["by its drafter", "blank comment", "no version", "unknown version"],
)
def test_a_send_back_by_its_drafter_without_a_comment_or_a_version_is_refused(
    api_as, ops_user, ops2, notice, who, body, status
):
    client = api_as({"ops": ops_user, "ops2": ops2}[who])

    response = client.post(
        f"/api/v1/alerts/{notice['id']}/send-back", body, content_type="application/json"
    )

    assert response.status_code == status, response.content
    assert not AuditEntry.objects.filter(action="alert.send_back").exists()


def test_a_drill_rewritten_by_a_colleague_may_still_be_approved_by_its_drafter(
    api_as, ops_user, ops2
):
    created = api_as(ops_user).post(
        "/api/v1/alerts", {**CITY_WIDE_LEVEL_5, "is_drill": True}, content_type="application/json"
    )
    alert_id = created.json()["id"]
    put(api_as(ops2), alert_id, {**CITY_WIDE_LEVEL_5, "is_drill": True, "title_ja": "訓練"})

    assert approve(api_as(ops_user), alert_id, {"version": 1}).status_code == 409
    assert approve(api_as(ops_user), alert_id, {"version": 2}).status_code == 200


def test_a_follow_up_is_approved_under_the_same_rule(api_as, ops_user, ops2, notice):
    Alert.objects.filter(pk=notice["id"]).update(status="sent")
    followup = (
        api_as(ops2)
        .post(
            f"/api/v1/alerts/{notice['id']}/followups",
            {"msg_type": "cancel", "title_ja": "取消", "body_ja": "先ほどのお知らせは誤りでした。"},
            content_type="application/json",
        )
        .json()
    )
    assert followup["version"] == 1 and followup["editors"] == ["ops2"]

    assert approve(api_as(ops2), followup["id"], {"version": 1}).json()["code"] == "four_eyes"
    assert approve(api_as(ops_user), followup["id"]).status_code == 428
    assert read_and_approve(api_as(ops_user), followup["id"]).status_code == 200


def test_a_scheduled_run_records_its_text_as_a_version_by_who_scheduled_it(api_as, ops_user):
    import datetime as dt

    from django.utils import timezone

    from alerts.authoring.schedules import send_due

    first_at = timezone.now() + dt.timedelta(hours=1)
    api_as(ops_user).post(
        "/api/v1/schedules",
        {
            "title_ja": "備蓄の点検を",
            "body_ja": "ご家庭の備蓄を点検しましょう。",
            "channels": ["line"],
            "whole_city": True,
            "first_at": first_at.isoformat(),
            "repeat": "once",
        },
        content_type="application/json",
    )

    [alert] = send_due(first_at + dt.timedelta(seconds=1))

    version = AlertVersion.objects.get(alert=alert)
    assert (alert.version, version.number, version.made_by) == (1, 1, ops_user)
    assert version.content["title_ja"] == "備蓄の点検を"


def test_alerts_made_before_versions_existed_get_their_first_version(ops_user, ops2):
    import importlib

    migration = importlib.import_module("alerts.migrations.0006_alert_versions")
    old = Alert.objects.create(
        kind="information",
        title_ja="古い下書き",
        body_ja="版のない頃の下書き",
        channels=["line"],
        whole_city=True,
        drafted_by=ops_user,
    )

    migration.first_versions(apps, None)

    old.refresh_from_db()
    version = old.versions.get()
    assert (old.version, version.number, version.made_by) == (1, 1, ops_user)
    assert version.content["title_ja"] == "古い下書き"


def test_the_list_reads_versions_and_send_backs_in_a_fixed_number_of_queries(
    api_as, ops_user, ops2, ops3
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_as(ops3).get("/api/v1/alerts?limit=100").status_code == 200
        return len(captured.captured_queries)

    counts = []
    for _ in range(2):
        for _ in range(3):
            created = api_as(ops_user).post(
                "/api/v1/alerts", ONE_DISTRICT_NOTICE, content_type="application/json"
            )
            alert_id = created.json()["id"]
            put(api_as(ops2), alert_id, CITY_WIDE_LEVEL_5)
            sent_back = api_as(ops3).post(
                f"/api/v1/alerts/{alert_id}/send-back",
                {"version": 2, "comment": "本文を確認してください。"},
                content_type="application/json",
            )
            assert sent_back.status_code == 200
        counts.append(queries_to_list())

    assert counts[0] == counts[1]
