"""The public report form on a weak phone link: a report whose answer was lost is sent
again with the same Idempotency-Key and recorded once; a photo over the server's limit is
refused on the phone, before anything is sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disaster.reports.models import DamageReport
from tests.browser.conftest import note_refusals
from tests.browser.test_public_pages import phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser, live_server):
    page = phone_page(browser, "ja-JP")
    refused: list[str] = []
    note_refusals(page.context, refused)
    yield page
    page.context.close()
    assert not refused, refused


def fill_in(phone, live_server) -> None:
    phone.goto(live_server.url + "/map/report/")
    expect(phone.locator("#report-form")).to_have_attribute("data-ready", "true")
    phone.locator("#reportmap").tap()
    phone.get_by_label("被害の様子").fill("倒木で道路がふさがっています")


def test_a_report_sent_again_after_its_answer_was_lost_is_recorded_once(phone, live_server):
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server takes the report and answers; the phone never hears
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.route("**/api/v1/public/reports", lose_the_first_answer)
    fill_in(phone, live_server)

    phone.get_by_role("button", name="報告する").click()
    expect(phone.locator("#report-result")).to_contain_text("送信できませんでした")
    phone.get_by_role("button", name="報告する").click()

    expect(phone.locator("#report-result")).to_contain_text("受け付けました。受付番号")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    (report,) = DamageReport.objects.all()
    assert phone.locator("#report-result").inner_text().endswith(str(report.pk))


def test_a_photo_over_the_servers_limit_is_refused_before_it_is_sent(phone, live_server, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 2_000_000
    sent = []
    phone.on("request", lambda r: sent.append(r) if "/public/reports" in r.url else None)
    fill_in(phone, live_server)
    expect(phone.get_by_text("JPEG・PNG・WebP、2 MB まで")).to_be_visible()

    phone.get_by_label("写真").set_input_files(
        {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" * 1_250_000}
    )
    phone.get_by_role("button", name="報告する").click()

    expect(phone.locator("#report-result")).to_have_text("写真は 2 MB までです。")
    assert not sent and not DamageReport.objects.exists()
