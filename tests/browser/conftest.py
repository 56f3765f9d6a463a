"""Playwright driving Debian's chromium (never a downloaded browser), headless."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREEN = {"width": 1600, "height": 1000}  # the operations room's big screen
# No internet in the operations room (nor in tests): base tiles fail, the rest must work.
OUTSIDE = re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])")


@pytest.fixture
def browser(monkeypatch, live_server):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous, so Django's async guard is lifted for browser tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def note_refusals(context, refused: list[str]) -> None:
    """Collect into `refused` what the pages' Content-Security-Policy refused, as the browser
    reports it: a page that works under its policy leaves it empty."""
    context.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    refused: list[str] = []
    note_refusals(context, refused)
    page = context.new_page()
    yield page
    context.close()
    assert not refused, refused


@pytest.fixture
def big_screen(browser):
    """big_screen(user, base_url) → a big-screen page with that user's session (the cookie of
    a real login), offline but for us, where any dialog fails the test."""
    contexts = []
    refused: list[str] = []

    def open_as(user, base_url: str):
        client = Client()
        client.force_login(user)
        context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=SCREEN)
        contexts.append(context)
        note_refusals(context, refused)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}]
        )
        context.route(OUTSIDE, lambda route: route.abort())
        page = context.new_page()
        page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not refused, refused


def serious_accessibility_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    # Evaluated, not added as a <script>: the page's CSP (rightly) refuses an inline script.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
