"""The tablet app as a shelter manager uses it, in a real browser: writes that mean what
the manager meant, pages that open with no connection, a queue that survives the browser."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from shelters.models import HeadCount
from shelters.services import record_headcount
from tests.browser.conftest import screenshot
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
