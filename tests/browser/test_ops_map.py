"""The operations map in a real browser, served by the real ASGI application (uvicorn in a
thread of the test process: HTTP and the `/ws/ops/` WebSocket through the Redis channel
layer), so events published by API writes reach the page as they do in production."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from alerts.delivery import fanout, safety
from alerts.models import Alert, Subscriber
from disaster.core.events import publish
from disaster.core.geography import District
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from tests.browser.conftest import screenshot, serious_accessibility_violations
from tests.fixtures.users import token_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture
def asgi_url(monkeypatch, transactional_db):
    """The ASGI application behind uvicorn on a free loopback port; its URL."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from disaster.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(application, lifespan="off", log_level="warning", ws="websockets-sansio")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # uvicorn sets it once it listens; nothing to wait on instead
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()


@pytest.fixture
def ops_page(big_screen, asgi_url, ops_user):
    """A big-screen page signed in as operations staff."""
    return big_screen(ops_user, asgi_url)


def open_ops(page, asgi_url):
    page.goto(asgi_url + "/ops/")
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-ready", "true")
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")


@pytest.fixture
def open_shelter(shelter) -> Shelter:
    shelter.status = Shelter.Status.OPEN
    shelter.save()
    return shelter


def record_headcount(user, shelter: Shelter, total: int, **needs: int) -> None:
    response = token_client(user).post(
        f"/api/v1/shelters/{shelter.pk}/headcounts",
        {"total": total, **needs},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def shelter_pin(page, shelter: Shelter):
    return page.locator(f".leaflet-marker-icon[title='{shelter.name}'] .shelter-pin")


def test_a_head_count_recorded_through_the_api_appears_on_the_map_without_reload(
    ops_page, asgi_url, ops_user, open_shelter
):
    page = ops_page
    open_ops(page, asgi_url)
    expect(shelter_pin(page, open_shelter)).to_have_text("0%")
    page.evaluate("window.__notReloaded = true")

    record_headcount(ops_user, open_shelter, 300, elderly=12, infants=4)

    expect(shelter_pin(page, open_shelter)).to_have_text("50%")
    expect(page.locator("#figure-evacuees")).to_have_text("300")
    expect(page.locator("#figure-care-needs")).to_have_text("16")
    expect(page.locator("#feed li").first).to_contain_text(f"{open_shelter.name}: 避難者 300")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "ops-map-live-headcount")


def create_report(user, **fields) -> dict:
    body = {"latitude": 35.5125, "longitude": 139.4165, "category": "fire", "severity": 4}
    response = token_client(user).post(
        "/api/v1/reports", {**body, **fields}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def open_report_popup(page, report_id: int) -> None:
    # A function, not an expression: Playwright evaluates a bare expression with eval(),
    # which the page's Content-Security-Policy refuses.
    page.wait_for_function(f"() => window.sonaeOps.reportMarkers.has({report_id})")
    page.evaluate(f"window.sonaeOps.openReport({report_id})")
    expect(page.locator(f".leaflet-popup-content [data-report='{report_id}']")).to_be_visible()


def test_a_report_created_through_the_api_appears_on_the_map_without_reload(
    ops_page, asgi_url, ops_user, open_shelter
):
    page = ops_page
    open_ops(page, asgi_url)
    page.evaluate("window.__notReloaded = true")

    report = create_report(ops_user, description="倉庫から出火")

    feed = page.locator("#feed li[data-kind='report.created']")
    expect(feed).to_have_text(re.compile(rf"#{report['id']} 火災 深刻度 4 新規"))
    expect(page.locator("#figure-severity-4")).to_have_text("1")
    expect(page.locator("path.leaflet-interactive[fill='#c4461b']")).to_have_count(1)
    assert page.evaluate("window.sonaeOps.reportMarkers.size") == 1
    assert page.evaluate("window.__notReloaded") is True
    open_report_popup(page, report["id"])
    expect(page.locator(".leaflet-popup-content .description")).to_have_text("倉庫から出火")
    screenshot(page, "ops-map-live-report")


def test_a_reports_photo_is_shown_in_its_popup_and_opens_the_original(
    ops_page, asgi_url, ops_user, open_shelter, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    report = create_report(ops_user, description="写真つき")
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(jpeg, format="JPEG")
    upload = SimpleUploadedFile("photo.jpg", jpeg.getvalue(), content_type="image/jpeg")
    response = token_client(ops_user).post(
        f"/api/v1/reports/{report['id']}/photos", {"photo": upload}
    )
    assert response.status_code == 201, response.content
    photo = response.json()
    page = ops_page
    open_ops(page, asgi_url)

    open_report_popup(page, report["id"])

    thumbnail = page.locator(f".leaflet-popup-content img[data-photo='{photo['id']}']")
    expect(thumbnail).to_have_attribute("src", photo["url"])  # the copy without EXIF
    expect(thumbnail).to_have_attribute("alt", "写真 1")
    page.wait_for_function(
        "() => document.querySelector('.leaflet-popup-content img[data-photo]')?.naturalWidth"
        " === 64"
    )
    link = page.locator(".leaflet-popup-content .photos a")
    expect(link).to_have_attribute("href", photo["original_url"])
    expect(link).to_have_attribute("target", "_blank")
    screenshot(page, "ops-map-report-photo")


def test_a_report_is_verified_assigned_and_resolved_from_its_popup(
    ops_page, asgi_url, ops_user, open_shelter
):
    report = create_report(ops_user)
    page = ops_page
    open_ops(page, asgi_url)
    expect(page.locator("#figure-severity-4")).to_have_text("1")

    open_report_popup(page, report["id"])
    page.get_by_role("button", name="確認済みにする").click()
    expect(page.locator("#triage-result")).to_have_text(f"更新しました #{report['id']}")
    assert DamageReport.objects.get(pk=report["id"]).status == "verified"

    open_report_popup(page, report["id"])
    page.get_by_label("担当班").fill("消防第2班")
    page.get_by_role("button", name="割り当て").click()
    expect(page.locator("#feed li").first).to_contain_text("対応中")
    assert DamageReport.objects.values_list("status", "team").get(pk=report["id"]) == (
        "assigned",
        "消防第2班",
    )

    open_report_popup(page, report["id"])
    page.get_by_role("button", name="解決").click()

    expect(page.locator("#figure-severity-4")).to_have_text("0")
    expect(page.locator("path.leaflet-interactive[fill='#c4461b']")).to_have_count(0)  # filter
    assert DamageReport.objects.get(pk=report["id"]).status == "resolved"


def test_a_near_duplicate_is_proposed_in_the_popup_and_merged_from_it(
    ops_page, asgi_url, ops_user, open_shelter
):
    first = create_report(ops_user)
    second = create_report(ops_user, latitude=35.5126)  # 11 m away, same category
    create_report(ops_user, latitude=35.5127, category="flooding", severity=2)  # another kind
    page = ops_page
    open_ops(page, asgi_url)

    open_report_popup(page, second["id"])
    proposed = page.locator(".leaflet-popup-content [data-duplicate]")
    expect(proposed).to_have_text([f"#{first['id']}"])
    proposed.click()
    expect(page.get_by_label("統合先の報告番号")).to_have_value(str(first["id"]))
    page.get_by_role("button", name="統合", exact=True).click()

    expect(page.locator("#triage-result")).to_have_text(f"更新しました #{second['id']}")
    merged = DamageReport.objects.get(pk=second["id"])
    assert (merged.status, merged.merged_into_id) == ("duplicate", first["id"])
    expect(page.locator("#figure-severity-4")).to_have_text("1")
    open_report_popup(page, first["id"])
    expect(page.locator(f"[data-report='{first['id']}']")).to_contain_text("報告者数 2")


def test_a_shortage_found_by_the_stock_check_rings_the_shelter_and_is_listed(
    ops_page, asgi_url, open_shelter, water, depot
):
    page = ops_page
    open_ops(page, asgi_url)
    expect(shelter_pin(page, open_shelter)).not_to_have_class(re.compile(r"\bshort\b"))

    shortage = {"depot_id": depot.pk, "shelter_id": open_shelter.pk, "item_id": water.pk}
    figures = {"on_hand": 10, "days_of_supply": 0.4, "hours_until_empty": 9.6}
    with transaction.atomic():  # as the periodic stock check publishes it
        publish(
            "stock.shortages",
            {"threshold_days": 3, "shortages": [{**shortage, **figures, "required_units": 60}]},
        )

    expect(shelter_pin(page, open_shelter)).to_have_class(re.compile(r"\bshort\b"))
    expect(page.locator("#shortage-list")).to_have_text(
        f"{open_shelter.name}: 飲料水（長期保存） 0.4日分"
    )
    expect(page.locator("#figure-shortages")).to_have_text("1")


def test_an_alert_sent_to_a_district_is_drawn_over_it_without_reload(ops_page, asgi_url):
    square = MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)), srid=4326)
    district = District.objects.create(name="相模が丘", area=square)
    page = ops_page
    open_ops(page, asgi_url)
    assert page.evaluate("window.sonaeOps.alertLayers.size") == 0

    alert = {"id": 7, "kind": "evacuation_4", "msg_type": "alert", "drill": False}
    alert |= {"whole_city": False, "district_ids": [district.pk], "has_area": False}
    with transaction.atomic():
        publish("alert.sent", {**alert, "status": "sent", "title": PAYLOAD, "references": None})

    expect(page.locator("#feed li").first).to_contain_text(f"#7 {PAYLOAD}")
    assert page.evaluate("window.sonaeOps.alertLayers.size") == 1
    assert page.locator("path.leaflet-interactive[stroke='#a0001c']").count() == 1

    with transaction.atomic():
        publish(
            "alert.cancelled", {**alert, "status": "cancelled", "title": "取消", "references": None}
        )

    expect(page.locator("#feed li").first).to_contain_text("#7 取消")
    assert page.evaluate("window.sonaeOps.alertLayers.size") == 0
    assert page.evaluate("window.__pwned") is None


def test_markup_in_a_shelter_name_or_a_report_is_shown_as_text_and_never_runs(
    ops_page, asgi_url, ops_user, open_shelter
):
    open_shelter.name = PAYLOAD
    open_shelter.save()
    page = ops_page
    open_ops(page, asgi_url)

    record_headcount(ops_user, open_shelter, 60)  # the name now reaches the feed and popup
    expect(page.locator("#feed li").first).to_contain_text(f"{PAYLOAD}: 避難者 60")
    page.locator(".shelter-pin").first.click()
    expect(page.locator(".leaflet-popup-content strong")).to_have_text(PAYLOAD)

    report = create_report(ops_user, description=PAYLOAD, address=PAYLOAD)
    open_report_popup(page, report["id"])
    expect(page.locator(".leaflet-popup-content .description")).to_have_text(PAYLOAD)

    assert page.evaluate("window.__pwned") is None
    injected = page.evaluate(
        """() => [...document.querySelectorAll("img, script")].filter(
            (e) => e.getAttribute("src") === "x"
                || (e.type !== "application/json" && e.textContent.includes("__pwned")))
            .map((e) => e.outerHTML)"""
    )
    assert injected == []


def test_a_reports_tooltip_stays_text_and_its_photo_links_stay_on_our_site(
    ops_page, asgi_url, ops_user, open_shelter
):
    """Defence in depth: whatever a report's fields hold (here a tampered answer), its
    tooltip is text, and a photo opens only a path of ours: "/\\host" and "/<tab>/host" are
    other sites to a browser, though they start with one slash."""
    report = create_report(ops_user)
    page = ops_page

    def tamper(route):
        # The popup's details (the map's markers come from the GeoJSON, the event).
        answer = route.fetch()
        item = answer.json()
        if item["id"] == report["id"]:
            item["category"] = PAYLOAD
            item["photos"] = [
                {"id": 1, "url": "/\\evil.example/1.jpg", "original_url": None},
                {"id": 2, "url": "/api/v1/x.jpg", "original_url": "/\t/evil.example/2"},
            ]
        route.fulfill(response=answer, json=item)

    page.route(re.compile(r"/api/v1/reports/\d+$"), tamper)
    open_ops(page, asgi_url)
    open_report_popup(page, report["id"])
    page.evaluate(f"window.sonaeOps.reportMarkers.get({report['id']}).openTooltip()")

    expect(page.locator(".leaflet-tooltip")).to_have_text(f"#{report['id']} {PAYLOAD}")
    assert page.evaluate("window.__pwned") is None
    shown = page.evaluate(
        """() => [...document.querySelectorAll(".leaflet-popup-content .photos a,"
            + " .leaflet-popup-content .photos img")].map((e) => e.href || e.src)"""
    )
    assert shown == [f"{asgi_url}/api/v1/x.jpg", f"{asgi_url}/api/v1/x.jpg"]


def test_a_dropped_connection_is_shown_and_the_missed_events_arrive_after_reconnecting(
    ops_page, asgi_url, ops_user, open_shelter
):
    page = ops_page
    open_ops(page, asgi_url)

    page.evaluate("window.sonaeOps.live.drop()")
    expect(page.locator("#live")).to_have_attribute("data-state", "disconnected")
    expect(page.locator("#live")).to_contain_text("切断中")
    record_headcount(ops_user, open_shelter, 150)  # published while the page is away
    record_headcount(ops_user, open_shelter, 180)
    expect(shelter_pin(page, open_shelter)).to_have_text("0%")  # nothing arrived meanwhile

    page.evaluate("window.sonaeOps.live.resume()")

    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    expect(shelter_pin(page, open_shelter)).to_have_text("30%")
    feed = page.locator("#feed li[data-kind='shelter.headcount']")
    expect(feed).to_have_count(2)
    expect(feed.first).to_contain_text("避難者 180")


def test_the_operations_map_has_no_serious_accessibility_violation(
    ops_page, asgi_url, ops_user, open_shelter
):
    record_headcount(ops_user, open_shelter, 90, elderly=3)
    open_ops(ops_page, asgi_url)

    assert serious_accessibility_violations(ops_page) == []


def test_every_open_report_can_be_shown_as_vector_tiles_and_opened_from_them(
    ops_page, asgi_url, ops_user, open_shelter
):
    page = ops_page
    # An older report the marker layer has not loaded: only the tiles know it.
    report = create_report(ops_user, description="タイルからの報告")
    open_ops(page, asgi_url)
    page.evaluate("window.sonaeOps.map.setView([35.5125, 139.4165], 16, {animate: false})")
    # At zoom 16 the page draws 512 px tiles, each the 256 px tile of zoom 15.
    with page.expect_response(lambda r: "/api/v1/map/tiles/reports/15/" in r.url) as answer:
        page.evaluate(
            "() => { const tiles = window.sonaeOps.layers.reportTiles;"
            " tiles.once('load', () => { window.__tilesDrawn = true; });"
            " window.sonaeOps.map.addLayer(tiles); }"
        )
    page.wait_for_function("() => window.__tilesDrawn === true")

    assert answer.value.status == 200, answer.value.text()
    assert answer.value.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    expect(
        page.locator(".leaflet-tile-container canvas, canvas.leaflet-tile").first
    ).to_be_attached()
    # Forget the live marker, so what opens the report is the tile's feature.
    page.evaluate(
        f"() => {{ const ops = window.sonaeOps, m = ops.reportMarkers.get({report['id']});"
        f" ops.layers.reports.removeLayer(m); ops.reportMarkers.delete({report['id']}); }}"
    )
    point = page.evaluate(
        "() => { const map = window.sonaeOps.map;"
        " const p = map.latLngToContainerPoint([35.5125, 139.4165]);"
        " const r = map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }"
    )
    page.mouse.click(*point)
    expect(page.locator(f".leaflet-popup-content [data-report='{report['id']}']")).to_be_visible()
    screenshot(page, "ops-map-report-tiles")


MAP_REQUESTS = """() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/api/v1/map/"))
  .map((e) => [e.name.replace(location.origin, ""), e.initiatorType])"""


@pytest.mark.parametrize("screen", [(1600, 1000), (1366, 768)])
def test_the_first_tiles_and_markers_are_asked_for_while_the_page_loads_and_once(
    ops_page, asgi_url, ops_user, open_shelter, screen
):
    # Two shelters apart: the map opens fitted to them, not on one at its closest zoom.
    Shelter.objects.create(
        name="栗原中学校", address="座間市栗原", point=Point(139.395, 35.478, srid=4326)
    )
    create_report(ops_user)
    ops_page.set_viewport_size({"width": screen[0], "height": screen[1]})
    open_ops(ops_page, asgi_url)
    expect(ops_page.locator("#ops-map-panel")).to_have_attribute("data-tiles", "loaded")
    expect(ops_page.locator("#ops-map-panel")).to_have_attribute("data-markers", "loaded")

    asked = ops_page.evaluate(MAP_REQUESTS)
    tiles = sorted(url for url, _ in asked if "/tiles/reports/" in url)
    shown = ops_page.evaluate(
        "() => Object.keys(window.sonaeOps.layers.reportTiles._tiles).map((key) => {"
        " const [x, y, z] = key.split(':'); return `/${z - 1}/${x}/${y}.pbf`; })"
    )
    # Every map request came from the page's head or ops/early.js (a request the map's
    # layers made again would be a "fetch" of its own), each once, and they were the
    # tiles the map shows.
    assert {kind for _, kind in asked} == {"link"}, asked
    assert len(tiles) == len(set(tiles))
    assert sorted(url.rsplit("reports", 1)[1] for url in tiles) == sorted(shown)
    assert [url for url, _ in asked if "reports.geojson" in url] == [
        "/api/v1/map/reports.geojson?status=new&status=verified&status=assigned&limit=1000"
    ]


def test_shelters_too_far_apart_open_the_map_at_its_least_zoom_with_those_tiles_preloaded(
    ops_page, asgi_url, ops_user, open_shelter
):
    # Zama and Osaka on one screen would need zoom 7; the map goes no further out than the
    # page says, and early.js preloads the tiles of the view the map then shows.
    Shelter.objects.create(name="遠方", address="大阪市", point=Point(135.5, 34.69, srid=4326))
    open_ops(ops_page, asgi_url)
    expect(ops_page.locator("#ops-map-panel")).to_have_attribute("data-tiles", "loaded")

    least = int(ops_page.locator("#ops-map-panel").get_attribute("data-min-zoom"))
    assert ops_page.evaluate("window.sonaeOps.map.getZoom()") == least == 10
    assert ops_page.evaluate("window.sonaeOps.map.getMinZoom()") == least
    asked = ops_page.evaluate(MAP_REQUESTS)
    tiles = [url for url, kind in asked if "/tiles/reports/" in url]
    assert tiles and {kind for url, kind in asked if url in tiles} == {"link"}, asked
    assert all(f"/tiles/reports/{least - 1}/" in url for url in tiles)


def test_the_report_tiles_follow_the_filters_chosen_on_the_map(
    ops_page, asgi_url, ops_user, open_shelter
):
    page = ops_page
    open_ops(page, asgi_url)
    page.evaluate("window.sonaeOps.map.setView([35.5125, 139.4165], 16, {animate: false})")
    with page.expect_response(lambda r: "/api/v1/map/tiles/reports/15/" in r.url) as first:
        page.evaluate("window.sonaeOps.map.addLayer(window.sonaeOps.layers.reportTiles)")
    assert "?" not in first.value.url  # open reports of every kind and severity

    with page.expect_response(lambda r: "category=flooding" in r.url) as filtered:
        filters = page.locator("#report-filters")
        filters.locator("select[name=category]").select_option("flooding")
        filters.locator("select[name=severity]").select_option("3")
        filters.locator("select[name=status]").select_option("resolved")

    query = parse_qs(urlsplit(filtered.value.url).query)
    assert filtered.value.status == 200, filtered.value.text()
    tile = page.evaluate("window.sonaeOps.layers.reportTiles._url")
    assert parse_qs(urlsplit(tile).query) == {
        "category": ["flooding"],
        "severity_min": ["3"],
        "status": ["resolved"],
    }
    assert query["category"] == ["flooding"]


@pytest.fixture
def district() -> District:
    square = MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.42, 35.52)), srid=4326)
    return District.objects.create(name="相模が丘", area=square)


def district_alert(district: District, title: str, **extra) -> Alert:
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja=title,
        body_ja="直ちに避難してください",
        channels=["sms"],
        **extra,
    )
    alert.districts.add(district)
    return alert


def delivery_bar(page, alert_id: int):
    return page.locator(f".deliveries li[data-alert='{alert_id}'] [role=progressbar]")


@pytest.mark.usefixtures("fake_twilio")
def test_the_real_fan_out_fills_the_progress_bar_and_a_need_help_answer_is_listed(
    ops_page, asgi_url, district
):
    people = []
    for phone in ("+819011110001", "+819011110002"):
        person = Subscriber.objects.create(
            phone=phone,
            phone_confirmed_at=timezone.now(),
            language="ja",
            consent_method=Subscriber.ConsentMethod.STAFF,
        )
        person.districts.add(district)
        people.append(person)
    alert = district_alert(district, "安否確認", status=Alert.Status.APPROVED, asks_safety=True)
    page = ops_page
    open_ops(page, asgi_url)
    expect(page.locator("#alert-deliveries")).to_have_text("配信中の避難情報はありません")
    page.evaluate("window.__notReloaded = true")

    fanout.send(alert.pk)  # the job's own code, against the fake Twilio on loopback

    bar = delivery_bar(page, alert.pk)
    expect(bar).to_have_attribute("aria-valuenow", "2")
    expect(bar).to_have_attribute("aria-valuemax", "2")
    item = page.locator(f".deliveries li[data-alert='{alert.pk}']")
    expect(item.locator(".delivery-figures")).to_have_text(
        "送信済み 2 · 配信済み 0 · 失敗 0 / 合計 2"
    )
    expect(item.locator(".delivery-status")).to_have_text("完了")

    assert safety.answer(people[1], alert.pk, "need_help")  # as the SMS webhook records it

    need_help = page.locator("#need-help-list li")
    expect(need_help).to_have_count(1)
    expect(need_help).to_contain_text("+819011110002")
    expect(need_help).to_contain_text("相模が丘")
    expect(item.locator(".safety-figures")).to_have_text("避難済み 0 · 自宅で無事 0 · 要救助 1")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "ops-map-need-help")


def test_progress_events_move_the_bar_and_colour_the_district_on_the_reach_map(
    ops_page, asgi_url, district
):
    alert = district_alert(
        district, PAYLOAD, status=Alert.Status.SENDING, is_drill=True, asks_safety=True
    )
    page = ops_page
    open_ops(page, asgi_url)
    item = page.locator(f".deliveries li[data-alert='{alert.pk}']")
    expect(item.locator("strong")).to_have_text(f"#{alert.pk} {PAYLOAD}")
    expect(item.locator(".badge.drill")).to_have_text("訓練")
    expect(delivery_bar(page, alert.pk)).to_have_attribute("aria-valuenow", "0")

    item.get_by_role("button", name=re.compile("配信状況を地図に表示")).click()
    expect(item.get_by_role("button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".reach-legend")).to_contain_text("到達率")
    expect(page.locator(".reach-legend")).to_contain_text("LINE が受け付けた分")
    expect(page.locator("path.leaflet-interactive[fill='#9e9e9e']")).to_have_count(1)

    # One LINE message LINE accepted (sent, and as far as LINE ever tells: reached), three
    # SMS delivered, one queued.
    counts = {"queued": 1, "sent": 1, "delivered": 3, "failed": 0, "reached": 4}
    progress = {"alert_id": alert.pk, "drill": True, "finished": False, "console": 0, **counts}
    progress["by_district"] = [{"district_id": district.pk, **counts}]
    answers = {"district_id": district.pk, "evacuated": 1, "safe_at_home": 2, "need_help": 0}
    # Committed together, the two are broadcast concurrently and may arrive in either order:
    # both are applied.
    with transaction.atomic():
        publish("alert.delivery_progress", progress)
        publish(
            "alert.safety_answers", {"alert_id": alert.pk, "drill": True, "by_district": [answers]}
        )

    expect(delivery_bar(page, alert.pk)).to_have_attribute("aria-valuenow", "4")
    expect(item.locator(".safety-figures")).to_have_text("避難済み 1 · 自宅で無事 2 · 要救助 0")
    expect(delivery_bar(page, alert.pk)).to_have_attribute("aria-valuemax", "5")
    expect(page.locator("path.leaflet-interactive[fill='#8cc084']")).to_have_count(1)  # 75–99%
    page.evaluate("window.sonaeOps.layers.reach.eachLayer((layer) => layer.openTooltip())")
    tooltip = page.locator(f".leaflet-tooltip .reach-tip[data-district='{district.pk}']")
    expect(tooltip.locator(".share")).to_have_text("到達率: 80% (4/5)")
    expect(tooltip.locator(".safety")).to_have_text("避難済み 1 · 自宅で無事 2 · 要救助 0")
    expect(page.locator("#need-help-list")).to_have_text("要救助の回答はありません")
    assert page.evaluate("window.__pwned") is None
    assert serious_accessibility_violations(page) == []
    screenshot(page, "ops-map-reach")


def test_districts_can_be_coloured_by_their_census_population(ops_page, asgi_url):
    def square(west: float) -> MultiPolygon:
        return MultiPolygon(Polygon.from_bbox((west, 35.49, west + 0.01, 35.50)), srid=4326)

    District.objects.create(
        name="相模が丘１丁目", area=square(139.40), population=9_000, households=4_000
    )
    District.objects.create(name="栗原", area=square(139.41), population=300, households=120)
    District.objects.create(name="新田宿", area=square(139.42))  # no census figures
    page = ops_page
    open_ops(page, asgi_url)
    assert page.locator(".population-legend").count() == 0  # off until chosen

    page.locator(".leaflet-control-layers").hover()
    page.get_by_role("checkbox", name="地区の人口").check()

    legend = page.locator(".population-legend")
    expect(legend).to_contain_text("市内 9,300 人")
    expect(legend).to_contain_text("8,000 人以上")
    fills = page.evaluate(
        """() => {
          const fills = {};
          window.sonaeOps.layers.population.eachLayer(
            (l) => (fills[l.feature.properties.name] = l.options.fillColor));
          return fills;
        }"""
    )
    assert fills == {"相模が丘１丁目": "#a50f15", "栗原": "#fee5d9", "新田宿": "#bdbdbd"}
    screenshot(page, "ops-population")
    page.locator(".leaflet-control-layers").hover()
    page.get_by_role("checkbox", name="地区の人口").uncheck()
    expect(legend).to_have_count(0)
