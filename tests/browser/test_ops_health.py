"""The operations map says in red when alerts cannot go out: no worker alive, or an alert
approved or being sent that made no progress for a minute; it watches /healthz while open,
so a worker dying under a page already open turns the banner on."""

from __future__ import annotations

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.alerts.delivery_helpers import stuck_alert
from tests.browser import test_ops_map as ops_map

asgi_url, ops_page, district = ops_map.asgi_url, ops_map.ops_page, ops_map.district

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_jobs_nor_workers"),
]

NO_WORKER = "配信ワーカーが動いていません"


def live_worker() -> int:
    """A worker registered as Procrastinate registers one (Playwright's event loop runs in
    this thread, so its async job manager cannot be called from here)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        return cursor.fetchone()[0]


def silence(worker_id: int) -> None:
    """The worker's last heartbeat a minute ago, as if it had died then."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '60 seconds'"
            " WHERE id = %s",
            [worker_id],
        )


def test_the_map_warns_in_red_while_no_worker_is_alive(ops_page, asgi_url):
    ops_map.open_ops(ops_page, asgi_url)

    banner = ops_page.get_by_role("alert").filter(has_text=NO_WORKER)
    expect(banner).to_be_visible()
    expect(banner).to_have_text("配信ワーカーが動いていません。承認した避難情報が送信されません。")


def test_the_banner_appears_when_the_worker_dies_under_an_open_page(ops_page, asgi_url):
    worker = live_worker()
    ops_page.clock.install()
    ops_map.open_ops(ops_page, asgi_url)
    expect(ops_page.locator("#health-alarm")).to_be_hidden()

    silence(worker)
    ops_page.clock.run_for(16_000)  # the next poll of /healthz

    expect(ops_page.locator("#health-alarm")).to_contain_text(NO_WORKER)


def test_an_alert_without_progress_for_a_minute_is_named_in_the_banner(ops_page, asgi_url):
    live_worker()
    stuck_alert()

    ops_map.open_ops(ops_page, asgi_url)

    expect(ops_page.locator("#health-alarm")).to_have_text(
        "1分以上配信が進んでいない避難情報があります（1件）。"
    )
