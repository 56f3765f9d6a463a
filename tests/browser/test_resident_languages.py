"""The residents' pages in every language residents choose, on a phone in a real browser:
the public map reached from an alert's short link and the report form, with nothing left in
Japanese but what is marked as Japanese data (addresses, JMA's own words) and each
language's own name in the language menu.

Japanese is found by script: kana and kanji for the languages written without them; kana
for 简体中文, whose own characters are Han; やさしい日本語 is compared with 日本語 instead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from alerts.models import Alert
from disaster.core import languages
from tests.browser import test_public_pages as public_pages
from tests.browser.conftest import screenshot
from tests.disaster import test_languages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

city = public_pages.city  # the public pages' small city (a fixture): 3 shelters open
level_4 = test_languages.level_4  # a level-4 order sent city-wide (a fixture)
phone_page = public_pages.phone_page

KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
# Shown as they are on purpose: each language's name in itself (how its readers find it),
# and the attributions of JMA and of GSI's base map, given as their owners word them.
AS_THEY_ARE = [name for _code, name in languages.RESIDENT] + ["出典：気象庁", "地理院タイル"]

# What the reader sees: the page's text without the parts marked as another language's.
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('[lang="ja"], script, style, template').forEach((n) => n.remove());
  copy.querySelectorAll('option').forEach((n) => n.remove());
  document.body.append(copy);
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


def in_language(browser, live_server, code: str):
    """A phone whose resident chose `code` in the language menu (its cookie)."""
    page = phone_page(browser, "ja-JP")
    page.context.add_cookies([{"name": "django_language", "value": code, "url": live_server.url}])
    return page


# Whatever sticks out past the phone's width, which the reader would have to scroll to see.
# (Map tiles are clipped by their map, not shown past it.)
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter((n) => !n.closest('.leaflet-container'))
  .filter((n) => n.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .map((n) => `${n.tagName}#${n.id}.${n.className}: ${n.textContent.trim().slice(0, 40)}`)"""


def visible_text(page) -> str:
    text = page.evaluate(VISIBLE_TEXT)
    for kept in AS_THEY_ARE:
        text = text.replace(kept, "")
    return text


def untranslated(code: str, text: str) -> list[str]:
    japanese = KANA if code == "zh-hans" else KANA_OR_KANJI
    return [line for line in text.splitlines() if japanese.search(line)]


def open_alert(page, live_server, alert: Alert) -> None:
    page.goto(f"{live_server.url}/a/{alert.pk}")
    expect(page.locator("#public-map-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#alert-heading")).not_to_be_empty()
    expect(page.locator("#open-list li")).to_have_count(3)


FOREIGN = [code for code, _name in languages.RESIDENT if not code.startswith("ja")]


@pytest.mark.parametrize("code", FOREIGN)
def test_the_map_from_an_alert_link_is_all_in_the_residents_language(
    browser, live_server, city, level_4, code
):
    page = in_language(browser, live_server, code)
    open_alert(page, live_server, level_4)
    screenshot(page, f"resident-map-{code}-390")

    expect(page.locator("html")).to_have_attribute("lang", code)
    assert untranslated(code, visible_text(page)) == []
    assert page.evaluate(WIDER_THAN_THE_SCREEN) == []
    # The alert says its level and what to do, from the language's written template.
    assert "4" in page.locator("#alert-heading").inner_text()
    assert page.locator("#alert-status").inner_text().strip()
    page.context.close()


@pytest.mark.parametrize("code", FOREIGN)
def test_the_report_form_is_all_in_the_residents_language(browser, live_server, code):
    page = in_language(browser, live_server, code)
    page.goto(live_server.url + "/map/report/")
    expect(page.locator("#report-form")).to_be_visible()
    screenshot(page, f"resident-report-{code}-390")

    assert untranslated(code, visible_text(page)) == []
    assert page.evaluate(WIDER_THAN_THE_SCREEN) == []
    page.context.close()


def test_easy_japanese_is_not_the_japanese_page(browser, live_server, city, level_4):
    pages = {code: in_language(browser, live_server, code) for code in ("ja", "ja-easy")}
    shown = {}
    for code, page in pages.items():
        open_alert(page, live_server, level_4)
        shown[code] = {
            line.strip() for line in visible_text(page).splitlines() if KANA.search(line)
        }
    screenshot(pages["ja-easy"], "resident-map-ja-easy-390")
    for page in pages.values():
        page.context.close()

    # Only data may read the same in both: the shelters' names and addresses as written, and
    # the data's attribution (the footer), given as its owners word it.
    data = {s.name for s in city.values()} | {s.address for s in city.values()}
    same = {line for line in shown["ja"] & shown["ja-easy"] if not line.startswith("出典")}
    assert same <= data, same
    assert len(shown["ja-easy"]) > 5


def test_a_browser_set_to_a_residents_language_gets_it_without_choosing(browser, live_server, city):
    page = phone_page(browser, "pt-BR")
    page.goto(live_server.url + "/map/")
    expect(page.locator("#public-map-page")).to_have_attribute("data-ready", "true")

    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    assert untranslated("pt-br", visible_text(page)) == []
    page.context.close()
