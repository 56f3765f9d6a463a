"""The pages every visitor meets first, in a real browser."""

import pytest

from tests.browser.conftest import screenshot, serious_accessibility_violations
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_is_japanese_first_and_accessible(live_server, page):
    page.goto(live_server.url + "/")

    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.get_by_role("heading", level=1).inner_text() == "備え 災害情報・備蓄システム"
    assert serious_accessibility_violations(page) == []


def test_a_visitor_can_switch_the_page_to_english(live_server, page):
    page.goto(live_server.url + "/")
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()

    page.wait_for_selector("html[lang=en]")
    assert "Sonae disaster information" in page.get_by_role("heading", level=1).inner_text()


def test_operations_staff_log_in_and_see_their_role(live_server, page, ops_user):
    page.goto(live_server.url + "/login/")
    assert serious_accessibility_violations(page) == []

    page.get_by_label("ユーザー名").fill(ops_user.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    page.wait_for_url(live_server.url + "/")
    assert "災害対策本部" in page.locator("header").inner_text()
    screenshot(page, "home-logged-in")


def test_a_wrong_password_is_refused_with_a_message(live_server, page, ops_user):
    page.goto(live_server.url + "/login/")
    page.get_by_label("ユーザー名").fill(ops_user.username)
    page.get_by_label("パスワード").fill("not the password")
    page.get_by_role("button", name="ログイン").click()

    assert (
        page.get_by_role("alert").inner_text() == "ユーザー名またはパスワードが正しくありません。"
    )
