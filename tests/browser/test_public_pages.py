"""The public map pages on a phone, in a real browser: open shelters by band, the nearest
ones to a chosen point by hazard, the report form, English, accessibility."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from alerts.models import Alert
from disaster.reports.models import DamageReport
from shelters.models import HeadCount, Shelter
from tests.browser.conftest import screenshot, serious_accessibility_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
HERE = (35.5121, 139.4161)  # beside the first shelter


def open_with(name: str, lon: float, lat: float, capacity: int, people: int, **extra) -> Shelter:
    shelter = Shelter.objects.create(
        name=name,
        address=f"神奈川県座間市 {name}",
        point=Point(lon, lat, srid=4326),
        capacity=capacity,
        status=extra.pop("status", Shelter.Status.OPEN),
        **extra,
    )
    if people:
        HeadCount.objects.create(shelter=shelter, total=people)
    return shelter


@pytest.fixture
def city(db) -> dict[str, Shelter]:
    return {
        "near_quake": open_with(
            "相模が丘小学校", 139.4160, 35.5120, 600, 100, hazards=["earthquake"]
        ),
        "crowded_flood": open_with("栗原小学校", 139.4000, 35.4900, 500, 450, hazards=["flood"]),
        "full": open_with(
            "座間中学校", 139.4100, 35.5000, 300, 300, hazards=["earthquake", "flood"]
        ),
        "closed": open_with(
            "閉鎖中の公民館",
            139.4150,
            35.5110,
            200,
            0,
            status=Shelter.Status.CLOSED,
            hazards=["earthquake"],
        ),
    }


def phone_page(browser, locale: str):
    context = browser.new_context(
        locale=locale,
        timezone_id="Asia/Tokyo",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": HERE[0], "longitude": HERE[1]},
        permissions=["geolocation"],
    )
    # Base tiles come from the internet; the pages must work without them.
    context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    return page


@pytest.fixture
def phone(browser, live_server):
    page = phone_page(browser, "ja-JP")
    yield page
    page.context.close()


def open_map(page, live_server):
    page.goto(live_server.url + "/map/")
    expect(page.locator("#public-map-page")).to_have_attribute("data-ready", "true")


def test_open_shelters_are_listed_with_a_band_and_never_a_head_count(phone, live_server, city):
    open_map(phone, live_server)

    items = phone.locator("#open-list li")
    expect(items).to_have_count(3)  # the closed one is not offered
    bands = {
        items.nth(i).locator("strong").inner_text(): items.nth(i).get_attribute("data-band")
        for i in range(3)
    }
    assert bands == {"相模が丘小学校": "free", "栗原小学校": "crowded", "座間中学校": "full"}
    expect(phone.locator("#open-list")).to_contain_text("混雑")
    body = phone.locator("main").inner_text()
    assert "450" not in body and "100" not in body.replace("10MB", "")
    screenshot(phone, "public-map-phone")


def test_the_nearest_open_shelters_to_the_visitor_follow_the_hazard_chosen(
    phone, live_server, city
):
    open_map(phone, live_server)

    phone.get_by_label("災害の種類").select_option("flood")
    phone.get_by_role("button", name="現在地から探す").click()

    nearest = phone.locator("#nearest-list li strong")
    expect(nearest).to_have_text(["座間中学校", "栗原小学校"])  # flood shelters, nearest first
    expect(phone.locator("#nearest-status")).to_have_text("近い順に表示しています。")

    phone.get_by_label("災害の種類").select_option("earthquake")

    expect(nearest).to_have_text(["相模が丘小学校", "座間中学校"])  # closed one left out


def test_markup_in_a_shelter_name_is_shown_as_text_on_the_public_map(phone, live_server, city):
    markup = '<img src=x onerror="window.__pwned=1">'
    # As written and romanised alike (an update: saving would romanise the name anew).
    Shelter.objects.filter(pk=city["near_quake"].pk).update(name=markup, name_en=markup)

    open_map(phone, live_server)

    expect(phone.locator("#open-list")).to_contain_text('<img src=x onerror="window.__pwned=1">')
    assert phone.evaluate("window.__pwned") is None
    assert phone.locator("img[src=x]").count() == 0


def test_markup_in_a_shelter_name_stays_text_in_its_map_tooltip(browser, live_server, city):
    # Leaflet writes a tooltip given as a string with innerHTML: hovering the marker of a
    # shelter named with markup must not run it.
    markup = '<img src=x onerror="window.__pwned=1">'
    # As written and romanised alike (an update: saving would romanise the name anew).
    Shelter.objects.filter(pk=city["near_quake"].pk).update(name=markup, name_en=markup)
    page = browser.new_page()
    page.context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
    try:
        open_map(page, live_server)
        markers = page.locator("path.leaflet-interactive")
        expect(markers).to_have_count(3)
        shown = []
        for i in range(3):
            markers.nth(i).hover(force=True)
            tooltip = page.locator(".leaflet-tooltip").last
            expect(tooltip).to_be_visible()
            shown.append(tooltip.inner_text())
        page.wait_for_timeout(200)  # an injected onerror would have run by now
        assert page.evaluate("window.__pwned") is None
        assert page.locator(".leaflet-tooltip img").count() == 0
        assert any('<img src=x onerror="window.__pwned=1">' in text for text in shown), shown
    finally:
        page.context.close()


def test_the_public_map_speaks_english_to_a_phone_set_to_english(browser, live_server, city):
    phone = phone_page(browser, "en-US")
    open_map(phone, live_server)

    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Open shelters")
    expect(phone.locator("#open-list")).to_contain_text("Crowded")
    phone.context.close()


@pytest.mark.parametrize("path", ["/map/", "/map/report/"])
def test_the_public_pages_have_no_serious_accessibility_violation(phone, live_server, city, path):
    phone.goto(live_server.url + path)
    expect(phone.locator("[data-ready=true]")).to_have_count(1)

    assert serious_accessibility_violations(phone) == []


def jpeg_with_gps() -> bytes:
    """A small photo as a phone takes it: JPEG with a GPS position in its EXIF."""
    image = Image.new("RGB", (64, 48), (200, 80, 40))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (35.0, 30.0, 43.0), 3: "E", 4: (139.0, 24.0, 58.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_resident_reports_damage_with_a_photo_from_a_phone(phone, live_server):
    phone.goto(live_server.url + "/map/report/")
    expect(phone.locator("#report-form")).to_have_attribute("data-ready", "true")

    phone.locator("#reportmap").tap()
    expect(phone.locator("#place-chosen")).to_contain_text("選んだ地点")
    phone.get_by_label("種類").select_option("road_blocked")
    phone.get_by_label("深刻さ").select_option("4")
    phone.get_by_label("被害の様子").fill("倒木で道路がふさがっています <b>至急</b>")
    phone.get_by_label("写真").set_input_files(
        {"name": "road.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
    )
    phone.get_by_role("button", name="報告する").click()

    expect(phone.locator("#report-result")).to_contain_text("受け付けました。受付番号")
    report = DamageReport.objects.get()
    assert (report.category, report.severity, report.source) == ("road_blocked", 4, "web")
    assert report.description == "倒木で道路がふさがっています <b>至急</b>"
    assert report.photos.count() == 1
    assert phone.locator("#report-result").inner_text().endswith(str(report.pk))
    screenshot(phone, "public-report-sent")


def test_a_report_without_a_place_is_not_sent(phone, live_server):
    phone.goto(live_server.url + "/map/report/")
    expect(phone.locator("#report-form")).to_have_attribute("data-ready", "true")

    phone.get_by_label("被害の様子").fill("停電しています")
    phone.get_by_role("button", name="報告する").click()

    expect(phone.locator("#report-result")).to_have_text("場所を選んでください。")
    assert not DamageReport.objects.exists()


def test_the_sms_short_link_shows_the_alert_area_and_the_open_shelters_near_it(
    phone, live_server, city
):
    # A flood order for a drawn area around 栗原小学校: that school is inside the flooded
    # area (not offered), 座間中学校 is beside it and takes floods, 相模が丘 takes earthquakes.
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        hazard="flood",
        title_ja="目久尻川 避難指示",
        body_ja="直ちに避難してください",
        area=MultiPolygon(Polygon.from_bbox((139.395, 35.485, 139.405, 35.495)), srid=4326),
        channels=["sms"],
        status=Alert.Status.SENT,
        approved_at=timezone.now(),
        sent_at=timezone.now(),
    )

    phone.goto(f"{live_server.url}/a/{alert.pk}")
    expect(phone.locator("#public-map-page")).to_have_attribute("data-ready", "true")

    assert phone.url.endswith(f"/map/?alert={alert.pk}")
    expect(phone.locator("#alert-heading")).to_have_text("目久尻川 避難指示 (警戒レベル4 避難指示)")
    # What to do (the template's words for a level 4), then where.
    expect(phone.locator("#alert-status")).to_have_text(
        "危険な場所にいる人は全員、直ちに避難してください。 地図の赤い区域が対象です。"
    )
    expect(phone.locator("#alert-shelters li strong")).to_have_text(["座間中学校"])
    expect(phone.locator("#alert-shelters li")).to_contain_text("満員")
    expect(phone.locator(".leaflet-overlay-pane path[stroke='#b00020']")).to_have_count(1)
    assert serious_accessibility_violations(phone) == []
    screenshot(phone, "public-map-alert")


def test_a_short_link_to_an_alert_not_sent_says_it_was_not_found(phone, live_server, city):
    phone.goto(f"{live_server.url}/map/?alert=999999")
    expect(phone.locator("#public-map-page")).to_have_attribute("data-ready", "true")
    expect(phone.locator("#alert-heading")).to_have_text("この情報は見つかりませんでした。")
    expect(phone.locator("#open-list li")).to_have_count(3)  # the page still works
