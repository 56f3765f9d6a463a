"""The tablet app as a shelter manager uses it, in a real browser: writes that mean what
the manager meant, pages that open with no connection, a queue that survives the browser."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from shelters.models import HeadCount
from shelters.services import record_headcount
from stockpile.catalogue import load_catalogue
from stockpile.models import Item, Lot, Movement
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1280, "height": 800}  # a 10-inch tablet, landscape
NEEDS = {"elderly": 80, "infants": 12, "care_needed": 6, "women": 150, "pets": 4}
ELSEWHERE = {"supported_at_home": 40, "supported_in_cars": 25}


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(base_url + "/")


@pytest.fixture
def signed_in(live_server, page, manager_user):
    page.set_viewport_size(TABLET)
    sign_in(page, live_server.url, manager_user.username)
    return page


@pytest.fixture
def counted(shelter, manager_user):
    """The shelter's last count, with its needs and the people it feeds elsewhere."""
    return record_headcount(shelter.pk, total=300, by=manager_user, **NEEDS, **ELSEWHERE)


def test_a_total_only_head_count_from_the_form_keeps_the_needs_and_updates_the_page(
    live_server, signed_in, shelter, counted
):
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")
    expect(page.locator("#now-supported_at_home")).to_have_text("40")

    page.get_by_role("button", name="10 増やす").click()
    page.get_by_role("button", name="避難者数を記録").click()

    expect(page.locator("#result")).to_contain_text("避難者数 310 — 記録しました")
    expect(page.locator("#occupancy")).to_have_text("310")
    latest = HeadCount.objects.filter(shelter=shelter).first()
    assert latest.total == 310
    assert {name: getattr(latest, name) for name in NEEDS} == NEEDS
    assert {name: getattr(latest, name) for name in ELSEWHERE} == ELSEWHERE
    assert latest.pk != counted.pk


def test_a_head_count_typed_offline_keeps_the_time_it_was_counted(
    live_server, signed_in, shelter, counted
):
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")
    page.context.set_offline(True)
    page.get_by_label("避難者数（合計）").fill("280")
    page.get_by_role("button", name="避難者数を記録").click()
    expect(page.locator("#queue-count")).to_have_text("1")
    typed_by = timezone.now()

    page.context.set_offline(False)

    expect(page.locator("#queue-count")).to_have_text("0")
    expect(page.locator("#occupancy")).to_have_text("280")
    latest = HeadCount.objects.filter(shelter=shelter).first()
    assert latest.total == 280
    assert latest.observed_at < typed_by < latest.at
    assert latest.elderly == NEEDS["elderly"]


def test_the_status_recorded_shows_on_the_page_without_a_reload(
    live_server, signed_in, shelter, counted
):
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")

    page.get_by_role("radio", name=re.compile("満員")).check()
    page.get_by_role("button", name="開設状況を記録").click()

    expect(page.locator("strong[data-status]")).to_have_text("満員・受入停止")
    screenshot(page, "tablet-status-full-1280x800")


def test_the_operations_map_shows_people_fed_elsewhere_apart_from_the_evacuees(
    live_server, big_screen, ops_user, shelter, counted
):
    page = big_screen(ops_user, live_server.url)
    page.goto(live_server.url + "/ops/")
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-ready", "true")

    expect(page.locator("#figure-evacuees")).to_have_text("300")
    expect(page.locator("#figure-supported-elsewhere")).to_have_text("65")
    expect(page.locator("#figure-care-needs")).to_have_text(str(80 + 12 + 6))


# Offline first ----------------------------------------------------------------------------

PAGES = [
    ("", "状況・避難者数"),
    ("stock/", "在庫一覧"),
    ("stock/receive/", "入庫（物資が届いた）"),
    ("stock/issue/", "払出（配った・使った）"),
    ("stock/count/", "棚卸（数えた数を記録）"),
    ("transfers/", "移送"),
    ("requests/", "物資要請"),
    ("sheets/", "Excel の在庫表"),
]
PHONE_UPRIGHT = {"width": 800, "height": 1280}  # the same tablet held upright


def kept_for_offline(page) -> None:
    """Wait until the service worker has kept every page of the manager's shelters."""
    expect(page.locator("html")).to_have_attribute("data-warmed", "true", timeout=20_000)


def test_every_tablet_page_opens_offline_marked_with_the_time_of_its_figures(
    live_server, signed_in, shelter, depot, water, counted
):
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/stock/")
    kept_for_offline(page)
    page.context.set_offline(True)

    page.reload()
    expect(page.locator("#offline-banner")).to_be_visible()
    for path, heading in PAGES:
        page.goto(f"{live_server.url}/shelter/{shelter.pk}/{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("#tablet")).to_have_attribute("data-served", "cache")
        expect(page.locator("#offline-banner")).to_contain_text(
            re.compile(r"オフラインです。\d+/\d+ \d\d:\d\d 時点の情報を表示しています。")
        )
        expect(page.locator("#queue-status")).to_have_text("すべて送信済みです。")
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")
    expect(page.locator("#occupancy")).to_have_text("300")
    screenshot(page, "tablet-offline-shelter-1280x800")
    page.set_viewport_size(PHONE_UPRIGHT)
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/stock/")
    screenshot(page, "tablet-offline-stock-800x1280")

    page.context.set_offline(False)

    expect(page.locator("#offline-banner")).to_be_hidden()
    expect(page.locator("#tablet")).to_have_attribute("data-served", "network")


@pytest.fixture
def tablet_browser(monkeypatch, tmp_path, live_server):
    """launch() → a Chromium context on one profile directory, like the tablet's browser:
    closing it and launching again keeps its IndexedDB, service worker and cookies."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    opened = []
    with sync_playwright() as p:

        def launch():
            context = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                locale="ja-JP",
                timezone_id="Asia/Tokyo",
                viewport=TABLET,
            )
            opened.append(context)
            return context

        yield launch
        for context in opened:
            context.close()


def pick_water(page, quantity: int) -> None:
    page.get_by_role("radio", name=re.compile("飲料水")).check()
    page.get_by_label("数量").fill(str(quantity))


def test_writes_made_offline_survive_a_browser_restart_and_land_once_when_back_online(
    live_server, tablet_browser, manager_user, shelter, depot, water, counted
):
    base = f"{live_server.url}/shelter/{shelter.pk}"
    context = tablet_browser()
    page = context.pages[0]
    sign_in(page, live_server.url, manager_user.username)
    page.goto(f"{base}/stock/receive/")
    kept_for_offline(page)
    context.set_offline(True)

    pick_water(page, 24)
    page.get_by_role("button", name="入庫を記録").click()
    expect(page.locator("#queue-count")).to_have_text("1")
    page.goto(f"{base}/stock/issue/")
    pick_water(page, 5)
    page.get_by_role("button", name="払出を記録").click()
    page.goto(f"{base}/")
    page.get_by_label("避難者数（合計）").fill("280")
    page.get_by_role("button", name="避難者数を記録").click()
    expect(page.locator("#queue-count")).to_have_text("3")
    expect(page.locator("#queue-list li")).to_have_count(3)
    context.close()
    assert not Movement.objects.exists()

    context = tablet_browser()
    context.set_offline(True)
    page = context.pages[0]
    page.goto(f"{base}/stock/issue/")
    expect(page.locator("#queue-count")).to_have_text("3")
    expect(page.locator("#queue-status")).to_have_text(
        "通信できません。つながったら自動で送信します。"
    )
    screenshot(page, "tablet-queue-after-restart-offline")

    context.set_offline(False)

    expect(page.locator("#queue-count")).to_have_text("0")
    expect(page.locator("#queue-landed li")).to_have_count(3)
    assert sorted(Movement.objects.values_list("kind", "quantity")) == [
        ("issue", -5),
        ("receive", 24),
    ]
    on_hand = sum(Lot.objects.values_list("on_hand", flat=True))
    assert on_hand == 19
    expect(page.locator(f"input[name=item_id][value='{water.pk}']")).to_have_attribute(
        "data-on-hand", "19"
    )
    expect(page.locator("#tablet")).to_have_attribute("data-served", "network")
    counts = list(HeadCount.objects.filter(shelter=shelter).values_list("total", "elderly"))
    assert counts == [(280, NEEDS["elderly"]), (300, NEEDS["elderly"])]
    page.goto(f"{base}/stock/")
    expect(page.locator("tr[data-item=water] [data-on-hand]")).to_have_text("19 L")


def test_a_refused_write_keeps_its_form_filled_with_what_was_typed_and_says_why(
    live_server, signed_in, shelter, depot, water
):
    page = signed_in
    base = f"{live_server.url}/shelter/{shelter.pk}"
    page.goto(f"{base}/stock/issue/")
    kept_for_offline(page)
    page.context.set_offline(True)
    pick_water(page, 50)
    page.get_by_label("メモ（任意）").fill("夕食の配布")
    page.get_by_role("button", name="払出を記録").click()
    expect(page.get_by_label("数量")).to_have_value("")  # ready for the next entry
    page.goto(f"{base}/stock/")  # the manager moves on; the write is refused meanwhile

    page.context.set_offline(False)

    expect(page.locator("#queue-failed")).to_contain_text("使用できる在庫: 0")
    expect(page.locator("#queue-failed")).to_contain_text("受け付けられませんでした")
    page.get_by_role("link", name="入力したページへ").click()
    expect(page.get_by_label("数量")).to_have_value("50")
    expect(page.get_by_role("radio", name=re.compile("飲料水"))).to_be_checked()
    expect(page.get_by_label("メモ（任意）")).to_have_value("夕食の配布")
    expect(page.locator("#movement-form [data-form-error]")).to_contain_text("使用できる在庫: 0")
    screenshot(page, "tablet-refused-issue-kept-in-its-form")
    assert not Movement.objects.exists()

    page.get_by_label("数量").fill("0")
    page.get_by_role("button", name="確認した").click()
    expect(page.locator("#queue-failed li")).to_have_count(0)


def test_writes_left_in_the_old_local_storage_queue_are_moved_and_sent_once(
    live_server, signed_in, shelter, depot, water
):
    page = signed_in
    url = f"/api/v1/depots/{depot.pk}/receipts"
    legacy = [
        {
            "key": "tablet-legacy-0001",
            "url": url,
            "method": "POST",
            "body": {"item_id": water.pk, "quantity": 7, "source": "procured"},
            "label": "入庫 飲料水 7L",
            "queuedAt": timezone.now().isoformat(),
        }
    ]
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/stock/")
    page.evaluate("(rows) => localStorage.setItem('sonae.queue.v1', JSON.stringify(rows))", legacy)

    page.reload()

    expect(page.locator("#queue-landed")).to_contain_text("入庫 飲料水 7L")
    assert page.evaluate("() => localStorage.getItem('sonae.queue.v1')") is None
    page.reload()
    expect(page.locator("#queue-count")).to_have_text("0")
    assert list(Movement.objects.values_list("quantity", flat=True)) == [7]


@pytest.mark.parametrize("viewport", [TABLET, PHONE_UPRIGHT], ids=["1280x800", "800x1280"])
def test_the_offline_pages_speak_english_when_english_is_chosen(
    live_server, signed_in, shelter, depot, water, counted, viewport
):
    page = signed_in
    page.set_viewport_size(viewport)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")
    kept_for_offline(page)
    page.context.set_offline(True)

    page.reload()

    banner = page.locator("#offline-banner")
    expect(banner).to_contain_text("Offline. Showing the information as of")
    expect(page.locator("#queue-status")).to_have_text("Everything has been sent.")
    screenshot(page, f"tablet-offline-shelter-en-{viewport['width']}x{viewport['height']}")
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/stock/issue/")
    expect(page.locator("#offline-banner")).to_be_visible()
    screenshot(page, f"tablet-offline-issue-en-{viewport['width']}x{viewport['height']}")


def test_the_stock_page_rates_infant_milk_and_sanitary_products_by_who_is_counted(
    live_server, signed_in, shelter, depot, stock_in, manager_user
):
    load_catalogue()
    record_headcount(
        shelter.pk, total=120, infants=10, women=60, supported_at_home=30, by=manager_user
    )
    stock_in(depot, Item.objects.get(code="formula"), 90)
    stock_in(depot, Item.objects.get(code="sanitary"), 900)
    page = signed_in

    page.goto(f"{live_server.url}/shelter/{shelter.pk}/stock/")

    formula = page.locator("tr[data-item=formula]")
    expect(formula.locator("[data-need]")).to_have_text("60")  # 10 infants × 6
    expect(formula).to_contain_text("1.5 日")
    expect(formula.locator("td.state")).to_have_text("不足")
    sanitary = page.locator("tr[data-item=sanitary]")
    expect(sanitary.locator("[data-need]")).to_have_text("90")  # 60 women × 1.5
    expect(sanitary.locator("td.state")).to_have_text("十分")  # 10 days
    expect(page.locator("#stock-basis")).to_contain_text("在宅避難・車中泊の 30 人の分も")
    screenshot(page, "tablet-stock-needs-1280x800")


def test_the_rows_a_count_sheet_was_refused_for_come_first_on_the_page(
    live_server, signed_in, shelter, depot, water, stock_in
):
    stock_in(depot, water, 40, days=100)
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/sheets/")
    sheet = (
        "品目コード,品名,単位,有効期限,調達区分,帳簿数,実数,理由,メモ\r\n"
        "water,飲料水,L,,購入,40,38,なくした,\r\n"
        "no-such-item,?,?,,購入,0,5,発見,\r\n"
    )

    page.get_by_label("記入した在庫表（.xlsx または .csv）").set_input_files(
        files=[{"name": "在庫.csv", "mimeType": "text/csv", "buffer": sheet.encode()}]
    )
    page.get_by_role("button", name="棚卸として取り込む").click()

    problems = page.locator("#sheet-problems")
    expect(problems).to_be_visible()
    expect(problems).to_be_in_viewport()
    expect(problems.get_by_role("heading")).to_have_text("取り込めなかった行: 2")
    expect(problems.locator("li").first).to_contain_text("2 行目 理由")
    expect(problems.locator("li").nth(1)).to_contain_text("3 行目")
    screenshot(page, "tablet-sheet-rows-refused-1280x800")
    assert not Movement.objects.filter(kind="count").exists()


def test_signing_out_forgets_the_pages_kept_for_offline_use(
    live_server, signed_in, shelter, depot, water
):
    page = signed_in
    page.goto(f"{live_server.url}/shelter/{shelter.pk}/")
    kept_for_offline(page)
    kept = "async () => (await (await caches.open('sonae-pages')).keys()).length"
    assert page.evaluate(kept) == 1 + len(PAGES)

    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_load_state()

    assert page.evaluate("async () => (await caches.keys()).includes('sonae-pages')") is False
