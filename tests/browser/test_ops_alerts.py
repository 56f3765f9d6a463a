"""The alerts page (`/ops/alerts/`) in a real browser: operations staff draft an alert whose
area they draw by clicking the map, review who it reaches and what each language receives,
and a second staff member approves it. Two people agree on the text (DESIGN decision 11):
the drafter is never offered approval of their own draft; a reviewer sees a colleague's
draft read-only, with what changed since the version before marked, and approves the
version shown, or sends it back with a comment."""

from __future__ import annotations

import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, Subscriber
from disaster.core.geography import District
from disaster.core.roles import Role
from shelters.models import Shelter
from tests.browser.conftest import screenshot, serious_accessibility_violations
from tests.fixtures.users import token_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
HOME = (35.4887, 139.4074)  # the map's default centre (LEAFLET_CONFIG)


@pytest.fixture
def signed_in(big_screen, live_server):
    """signed_in(user) → the alerts page on the big screen, signed in as that user."""

    def open_as(user):
        page = big_screen(user, live_server.url)
        page.goto(live_server.url + "/ops/alerts/")
        expect(page.locator("#alerts-page")).to_have_attribute("data-ready", "true")
        return page

    return open_as


@pytest.fixture
def second_ops_user(make_user):
    return make_user("ops2", Role.OPERATIONS)


@pytest.fixture
def neighbourhood(db):
    """A district, a resident on LINE and SMS at HOME, and an open shelter nearby."""
    lat, lon = HOME
    square = Polygon.from_bbox((lon + 0.02, lat + 0.02, lon + 0.04, lat + 0.04))
    District.objects.create(name="相模が丘", area=MultiPolygon(square, srid=4326))
    Subscriber.objects.create(
        phone="+819012345678",
        phone_confirmed_at=timezone.now(),
        line_user_id="U" + "a" * 32,
        home=Point(lon, lat, srid=4326),
        consent_method="sms",
    )
    return Shelter.objects.create(
        name="座間市立ひばりが丘小学校",
        address="神奈川県座間市",
        point=Point(lon + 0.002, lat + 0.002, srid=4326),
        capacity=400,
        status=Shelter.Status.OPEN,
        hazards=["earthquake", "flood"],
    )


def click_map_at(page, points: list[tuple[float, float]]) -> None:
    """Click the drawing map at each (lat, lon), as a person adds the area's vertices."""
    for lat, lon in points:
        xy = page.evaluate(
            "([lat, lon]) => window.sonaeAlerts.map.latLngToContainerPoint([lat, lon])", [lat, lon]
        )
        page.locator("#alertmap").click(position={"x": xy["x"], "y": xy["y"]})


def around_home(d: float) -> list[tuple[float, float]]:
    lat, lon = HOME
    return [(lat + d, lon - d), (lat + d, lon + d), (lat - d, lon + d), (lat - d, lon - d)]


def test_an_alert_drawn_on_the_map_is_reviewed_and_approved_by_a_second_staff_member(
    signed_in, live_server, ops_user, second_ops_user, neighbourhood
):
    page = signed_in(ops_user)
    page.select_option("select[name=kind]", "evacuation_4")
    page.select_option("select[name=hazard]", "earthquake")
    page.get_by_label("件名（日本語・必須）").fill("避難指示")
    page.get_by_label("本文（日本語・必須）").fill("直ちに避難してください。")

    # A bow-tie is not an area: the API says so next to the map.
    top_left, top_right, bottom_right, bottom_left = around_home(0.005)
    click_map_at(page, [top_left, bottom_right, top_right, bottom_left])
    expect(page.locator("#draw-status")).to_contain_text("4")
    page.get_by_role("button", name="区域を確定").click()
    page.get_by_role("button", name="下書きを保存").click()
    expect(page.locator("#error-area")).to_contain_text("Self-intersection")
    assert Alert.objects.count() == 0

    page.get_by_role("button", name="区域を消去").click()
    click_map_at(page, [*around_home(0.005), (HOME[0] - 0.006, HOME[1])])
    page.get_by_role("button", name="最後の点を取り消す").click()
    expect(page.locator("#alert-form")).to_have_attribute("data-points", "4")
    page.get_by_role("button", name="区域を確定").click()
    page.get_by_role("button", name="下書きを保存").click()

    detail = page.locator("#alert-detail")
    expect(detail).to_have_attribute("data-ready", "true")
    expect(page.locator("#error-area")).to_be_empty()
    alert = Alert.objects.get()
    assert alert.status == Alert.Status.DRAFT
    assert alert.area.num_geom == 1 and len(alert.area[0].exterior_ring) == 5
    assert alert.area.contains(Point(HOME[1], HOME[0], srid=4326))
    expect(page.locator("#recipients-line")).to_have_text("1")
    expect(page.locator("#recipients-sms")).to_have_text("1")
    sms = page.locator("#previews tr[data-language='ja'][data-channel='sms']")
    expect(sms).to_contain_text("避難指示")
    expect(sms.locator("td").last).to_have_text(re.compile(r"^\d+ \(UCS-2\) · [123] / 3 通$"))
    # Only the languages somebody here reads (Japanese always).
    expect(page.locator("#previews tr[data-language='ja'][data-channel='line']")).to_be_visible()
    expect(page.locator("#previews tr[data-language='en']")).to_have_count(0)
    expect(page.locator(f"#shelters tr[data-shelter='{neighbourhood.pk}']")).to_contain_text(
        "400 / 400"
    )
    expect(page.locator(f"#alert-list li[data-alert='{alert.pk}']")).to_contain_text("下書き")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "ops-alerts-draft")

    # The drafter is never offered approval of their own (real) alert, and is told why.
    expect(page.get_by_role("button", name="承認して送信")).to_be_hidden()
    expect(page.locator("#review-note")).to_contain_text("承認できません")
    expect(page.get_by_role("button", name="差し戻す")).to_be_hidden()

    other = signed_in(second_ops_user)
    other.locator(f"#alert-list li[data-alert='{alert.pk}'] button").click()
    expect(other.locator("#alert-detail")).to_have_attribute("data-alert", str(alert.pk))
    expect(other.locator("#review tr[data-field='title_ja']")).to_contain_text("避難指示")
    other.get_by_role("button", name="承認して送信").click()
    expect(other.get_by_role("button", name="はい、承認して送信する")).to_be_focused()
    other.get_by_role("button", name="はい、承認して送信する").click()
    expect(other.locator("#action-result")).to_have_text("承認しました。送信します。")
    expect(other.locator("#detail-facts")).to_contain_text("ops2")

    response = token_client(ops_user).get(f"/api/v1/alerts/{alert.pk}")
    assert response.json()["status"] in {"approved", "sending", "sent"}
    assert response.json()["approved_by"] == "ops2"
    screenshot(other, "ops-alerts-approved")


def test_a_drill_may_be_approved_by_the_staff_member_who_drafted_it(
    signed_in, ops_user, neighbourhood
):
    page = signed_in(ops_user)
    page.get_by_label("訓練").check()
    page.get_by_label("件名（日本語・必須）").fill("訓練の避難指示")
    page.get_by_label("本文（日本語・必須）").fill("これは訓練です。")
    page.get_by_label("市内全域").check()
    page.get_by_role("button", name="下書きを保存").click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-ready", "true")
    expect(page.locator("#detail-heading .drill")).to_have_text("訓練")

    page.get_by_role("button", name="承認して送信").click()
    page.get_by_role("button", name="はい、承認して送信する").click()

    expect(page.locator("#action-result")).to_have_text("承認しました。送信します。")
    assert Alert.objects.get().status in {Alert.Status.APPROVED, Alert.Status.SENDING}


def test_missing_japanese_texts_and_no_target_are_shown_next_to_their_fields(signed_in, ops_user):
    page = signed_in(ops_user)

    page.get_by_role("button", name="下書きを保存").click()

    expect(page.locator("#error-title_ja")).to_have_text("日本語の件名は必須です。")
    expect(page.locator("#error-body_ja")).to_have_text("日本語の本文は必須です。")
    expect(page.locator("#error-target")).not_to_be_empty()
    expect(page.get_by_label("件名（日本語・必須）")).to_have_attribute("aria-invalid", "true")
    assert Alert.objects.count() == 0


def test_markup_in_an_alert_title_is_shown_as_text_and_never_runs(signed_in, ops_user):
    response = token_client(ops_user).post(
        "/api/v1/alerts",
        {
            "kind": "information",
            "title_ja": PAYLOAD,
            "body_ja": PAYLOAD,
            "channels": ["line"],
            "whole_city": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    alert_id = response.json()["id"]
    page = signed_in(ops_user)

    item = page.locator(f"#alert-list li[data-alert='{alert_id}']")
    expect(item.locator(".title")).to_have_text(PAYLOAD)
    item.locator("button").click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-ready", "true")
    expect(page.locator("#detail-heading .title")).to_have_text(PAYLOAD)
    expect(page.locator("#previews tr[data-language='ja'] pre")).to_contain_text(PAYLOAD)
    expect(page.get_by_label("件名（日本語・必須）")).to_have_value(PAYLOAD)
    for place in ("#alert-list", "#alert-detail"):
        assert page.locator(f"{place} img, {place} script").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_sent_alert_is_cancelled_with_a_follow_up_drafted_from_the_page(signed_in, ops_user):
    response = token_client(ops_user).post(
        "/api/v1/alerts",
        {
            "kind": "evacuation_3",
            "title_ja": "高齢者等避難",
            "body_ja": "避難に時間のかかる方は避難を始めてください。",
            "channels": ["line"],
            "whole_city": True,
        },
        content_type="application/json",
    )
    original = response.json()["id"]
    Alert.objects.filter(pk=original).update(status=Alert.Status.SENT, sent_at=timezone.now())
    page = signed_in(ops_user)
    page.locator(f"#alert-list li[data-alert='{original}'] button").click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-alert", str(original))
    expect(page.get_by_role("button", name="承認して送信")).to_be_hidden()

    followup = page.locator("#followup-form")
    followup.get_by_label("種類").select_option("cancel")
    followup.get_by_label("件名（日本語）").fill("高齢者等避難の取消")
    followup.get_by_label("本文（日本語）").fill("先ほどの高齢者等避難は誤りでした。")
    followup.get_by_role("button", name="続報の下書きを作る").click()

    expect(page.locator("#action-result")).to_have_text("続報の下書きを作りました")
    cancel = Alert.objects.exclude(pk=original).get()
    assert (cancel.msg_type, cancel.references_id, cancel.status) == ("cancel", original, "draft")
    expect(page.locator("#alert-detail")).to_have_attribute("data-alert", str(cancel.pk))
    expect(page.locator(f"#alert-list li[data-alert='{cancel.pk}']")).to_contain_text("下書き")


NOTICE = {
    "kind": "evacuation_3",
    "title_ja": "高齢者等避難",
    "body_ja": "避難に時間のかかる方は避難を始めてください。",
    "channels": ["line"],
    "whole_city": True,
}


def drafted_through_the_api(user, draft: dict) -> int:
    response = token_client(user).post("/api/v1/alerts", draft, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def edited_through_the_api(user, alert_id: int, draft: dict) -> int:
    response = token_client(user).put(
        f"/api/v1/alerts/{alert_id}", draft, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["version"]


def open_alert(page, alert_id: int) -> None:
    page.locator(f"#alert-list li[data-alert='{alert_id}'] button").click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-alert", str(alert_id))


def approve_on_the_page(page, alert_id: int) -> dict:
    """Click 承認して送信 and confirm; the body the page sent with the approval."""
    page.get_by_role("button", name="承認して送信").click()
    with page.expect_request(lambda r: r.url.endswith(f"/alerts/{alert_id}/approve")) as sent:
        page.get_by_role("button", name="はい、承認して送信する").click()
    return sent.value.post_data_json


CHANGED = re.compile(r"\bchanged\b")


def test_a_reviewer_sees_a_colleagues_draft_read_only_and_approves_the_version_shown(
    signed_in, ops_user, second_ops_user
):
    alert_id = drafted_through_the_api(ops_user, NOTICE)
    evacuate = {**NOTICE, "kind": "evacuation_4", "body_ja": "直ちに避難してください。"}
    edited_through_the_api(ops_user, alert_id, evacuate)
    page = signed_in(second_ops_user)

    open_alert(page, alert_id)

    review = page.locator("#review")
    expect(review).to_be_visible()
    expect(page.locator("#review-version")).to_contain_text("版 2 · ops")
    expect(page.locator("#review-version")).to_contain_text("前の版からの変更: 2 項目")
    body = review.locator("tr[data-field='body_ja']")
    expect(body).to_have_class(CHANGED)
    expect(body.locator(".changed-mark")).to_have_text("変更あり")
    expect(body.locator("del")).to_have_text(NOTICE["body_ja"])
    expect(review.locator("tr[data-field='kind']")).to_contain_text("警戒レベル4 避難指示")
    expect(review.locator("tr[data-field='title_ja']")).not_to_have_class(CHANGED)
    assert review.locator("input, textarea, select, [contenteditable]").count() == 0
    # The form is not this draft: for the reviewer it stays a new, empty draft.
    expect(page.locator("#form-heading")).to_have_text("新しい下書き")
    expect(page.get_by_label("件名（日本語・必須）")).to_have_value("")
    expect(page.get_by_role("button", name="差し戻す")).to_be_visible()

    # The drafter changes the draft while the reviewer still has version 2 on screen.
    edited_through_the_api(ops_user, alert_id, {**evacuate, "title_ja": "避難指示"})
    assert approve_on_the_page(page, alert_id) == {"version": 2}

    expect(page.locator("#action-result")).to_contain_text("版 2 を確認した後に変更されました")
    expect(page.locator("#review-version")).to_contain_text("版 3")
    expect(review.locator("tr[data-field='title_ja']")).to_have_class(CHANGED)
    alert = Alert.objects.get(pk=alert_id)
    assert (alert.status, alert.approved_by) == (Alert.Status.DRAFT, None)

    assert approve_on_the_page(page, alert_id) == {"version": 3}

    expect(page.locator("#action-result")).to_have_text("承認しました。送信します。")
    alert.refresh_from_db()
    assert (alert.approved_by, alert.version) == (second_ops_user, 3)
    assert alert.status != Alert.Status.DRAFT


def test_a_reviewer_sends_a_draft_back_and_its_drafter_sees_why_and_edits_it(
    signed_in, ops_user, second_ops_user
):
    alert_id = drafted_through_the_api(ops_user, NOTICE)
    reviewer = signed_in(second_ops_user)
    open_alert(reviewer, alert_id)

    reviewer.get_by_role("button", name="差し戻す").click()
    reviewer.get_by_role("button", name="差し戻しを送る").click()
    expect(reviewer.locator("#error-comment")).to_have_text("差し戻す理由を書いてください。")
    reason = "対象の地区を絞れないか確認してください。"
    reviewer.get_by_label("差し戻す理由（作成者に表示されます）").fill(reason)
    assert serious_accessibility_violations(reviewer) == []
    reviewer.get_by_role("button", name="差し戻しを送る").click()

    expect(reviewer.locator("#action-result")).to_have_text("差し戻しました")
    expect(reviewer.locator("#send-backs li")).to_contain_text(reason)
    assert Alert.objects.get(pk=alert_id).status == Alert.Status.DRAFT

    drafter = signed_in(ops_user)
    open_alert(drafter, alert_id)
    expect(drafter.locator("#send-backs li")).to_contain_text("版 1 · ops2")
    expect(drafter.locator("#send-backs li .comment")).to_have_text(reason)
    expect(drafter.locator("#form-heading")).to_have_text(f"下書きの編集 #{alert_id}")
    expect(drafter.locator("#review")).to_be_hidden()
    expect(drafter.get_by_role("button", name="承認して送信")).to_be_hidden()
    expect(drafter.get_by_role("button", name="差し戻す")).to_be_hidden()
    drafter.get_by_label("本文（日本語・必須）").fill("相模が丘の方は避難を始めてください。")
    drafter.get_by_role("button", name="下書きを保存").click()
    expect(drafter.locator("#form-result")).to_have_text("下書きを保存しました")
    expect(drafter.locator("#detail-facts")).to_contain_text("2")
    assert Alert.objects.get(pk=alert_id).version == 2
    expect(drafter.get_by_role("button", name="承認して送信")).to_be_hidden()


@pytest.mark.parametrize(
    ("language", "approve", "changed"),
    [("ja", "承認して送信", "変更あり"), ("en", "Approve and send", "Changed")],
)
def test_the_review_fits_the_operations_rooms_screens(
    signed_in, live_server, ops_user, second_ops_user, language, approve, changed
):
    alert_id = drafted_through_the_api(ops_user, {**NOTICE, "title_en": "Elderly evacuate"})
    edited_through_the_api(
        ops_user,
        alert_id,
        {**NOTICE, "kind": "evacuation_4", "title_en": "Evacuate", "asks_safety": True},
    )
    page = signed_in(second_ops_user)
    if language == "en":
        page.context.add_cookies(
            [{"name": "django_language", "value": "en", "url": live_server.url}]
        )
        page.reload()
        expect(page.locator("#alerts-page")).to_have_attribute("data-ready", "true")
    open_alert(page, alert_id)

    for width, height in [(1920, 1080), (1366, 768)]:
        page.set_viewport_size({"width": width, "height": height})
        expect(page.get_by_role("button", name=approve)).to_be_visible()
        expect(page.locator("#review tr[data-field='kind'] .changed-mark")).to_have_text(changed)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"ops-alerts-review-{language}-{width}x{height}")


def test_after_a_colleague_rewrote_a_draft_neither_of_them_is_offered_its_approval(
    signed_in, make_user, ops_user, second_ops_user
):
    alert_id = drafted_through_the_api(ops_user, NOTICE)
    level_5 = {**NOTICE, "kind": "evacuation_5", "title_ja": "緊急安全確保"}
    edited_through_the_api(second_ops_user, alert_id, level_5)

    for editor in (ops_user, second_ops_user):
        page = signed_in(editor)
        open_alert(page, alert_id)
        expect(page.locator("#review-note")).to_contain_text("承認できません")
        expect(page.get_by_role("button", name="承認して送信")).to_be_hidden()
        expect(page.get_by_role("button", name="差し戻す")).to_be_hidden()

    third = signed_in(make_user("ops3", Role.OPERATIONS))
    open_alert(third, alert_id)
    expect(third.locator("#review tr[data-field='kind']")).to_have_class(CHANGED)
    expect(third.locator("#review tr[data-field='kind'] del")).to_have_text(
        "警戒レベル3 高齢者等避難"
    )
    expect(third.get_by_role("button", name="承認して送信")).to_be_visible()
    assert Alert.objects.get(pk=alert_id).status == Alert.Status.DRAFT


def test_the_recipients_state_how_many_people_and_households_live_in_the_area(signed_in, ops_user):
    def district(name: str, west: float, population: int, households: int) -> District:
        area = MultiPolygon(Polygon.from_bbox((west, 35.49, west + 0.01, 35.50)), srid=4326)
        return District.objects.create(
            name=name, area=area, population=population, households=households
        )

    chosen = [
        district("緑ケ丘１丁目", 139.40, 2_345, 1_001),
        district("緑ケ丘２丁目", 139.41, 1_500, 650),
    ]
    district("栗原", 139.42, 9_999, 4_444)  # not targeted
    response = token_client(ops_user).post(
        "/api/v1/alerts",
        {
            "kind": "evacuation_4",
            "title_ja": "避難指示",
            "body_ja": "直ちに避難してください。",
            "channels": ["line"],
            "district_ids": [d.pk for d in chosen],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    page = signed_in(ops_user)

    page.locator(f"#alert-list li[data-alert='{response.json()['id']}'] button").click()

    expect(page.locator("#alert-detail")).to_have_attribute("data-ready", "true")
    expect(page.locator("#recipients-population")).to_have_text("3,845")
    expect(page.locator("#recipients-households")).to_have_text("1,651")
    expect(page.locator("#recipients-method")).to_contain_text("一部だけ含まれる地区も")
    screenshot(page, "alert-population")
