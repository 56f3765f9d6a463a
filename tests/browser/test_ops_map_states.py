"""The operations map opened with every alert, delivery and report status there is at once —
an alert approved and never picked up, one stuck "sending", one sent to nobody, one whose
every message failed, one LINE only accepted, one the console took, a cancelled one — as a
night of failures leaves them. The one screen the operations room watches must draw all of
it without a script error, with the figures the database holds; and when its session ends,
say so rather than look live."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, Delivery, Subscriber
from disaster.reports.models import DamageReport
from tests.browser import test_ops_map as ops_map

# The operations map's fixtures, shared with its other browser tests.
asgi_url, ops_page, district = ops_map.asgi_url, ops_map.ops_page, ops_map.district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A resource the page may not load (the base map's tiles: no internet here) is logged as a
# console error by the browser itself; anything else in the console is the page's fault.
NOT_OURS = "Failed to load resource"
REACH_100 = "#1a7f37"
REACH_0 = "#b00020"
NO_RECIPIENTS = "#9e9e9e"


def residents(district, count: int) -> list[Subscriber]:
    people = []
    for n in range(count):
        person = Subscriber.objects.create(
            phone=f"+81901234{n:04d}",
            phone_confirmed_at=timezone.now(),
            line_user_id=f"U{n:032x}",
            consent_method=Subscriber.ConsentMethod.STAFF,
        )
        person.districts.add(district)
        people.append(person)
    return people


def deliveries(alert: Alert, people, *rows: tuple[str, str, str]) -> None:
    """One delivery per (channel, status, provider id) row, each to the next person."""
    for person, (channel, status, provider_id) in zip(people, rows, strict=False):
        Delivery.objects.create(
            alert=alert,
            subscriber=person,
            channel=channel,
            status=status,
            provider_id=provider_id,
            district=person.districts.first(),
        )


def every_status(district) -> dict[str, Alert]:
    now = timezone.now()
    people = residents(district, 3)
    minutes_ago = lambda n: now - dt.timedelta(minutes=n)  # noqa: E731

    def alert(name: str, status: str, **extra) -> Alert:
        made = Alert.objects.create(
            kind=Alert.Kind.EVACUATION_4,
            title_ja=name,
            body_ja="直ちに避難してください",
            channels=["line", "sms"],
            status=status,
            **extra,
        )
        made.districts.add(district)
        return made

    alerts = {
        "draft": alert("下書き", Alert.Status.DRAFT),
        "approved": alert("承認済み・未着手", Alert.Status.APPROVED, approved_at=minutes_ago(8)),
        "stuck": alert("送信中のまま", Alert.Status.SENDING, approved_at=minutes_ago(7)),
        "nobody": alert(
            "受信者なし", Alert.Status.SENT, approved_at=minutes_ago(6), sent_at=minutes_ago(6)
        ),
        "failed": alert(
            "全員失敗", Alert.Status.SENT, approved_at=minutes_ago(5), sent_at=minutes_ago(5)
        ),
        "line": alert(
            "LINE 受付済み", Alert.Status.SENT, approved_at=minutes_ago(4), sent_at=minutes_ago(4)
        ),
        "console": alert(
            "コンソール", Alert.Status.SENT, approved_at=minutes_ago(3), sent_at=minutes_ago(3)
        ),
        "cancelled": alert("取り下げ", Alert.Status.CANCELLED, cancelled_at=minutes_ago(2)),
    }
    alerts["cancel"] = alert(
        "取消電文",
        Alert.Status.SENT,
        msg_type=Alert.MessageType.CANCEL,
        references=alerts["line"],
        approved_at=minutes_ago(1),
        sent_at=minutes_ago(1),
    )
    deliveries(alerts["stuck"], people, ("sms", "queued", ""), ("sms", "sending", ""))
    deliveries(alerts["failed"], people, ("sms", "failed", ""), ("sms", "undeliverable", "SM9"))
    deliveries(
        alerts["line"],
        people,
        ("line", "sent", "r1"),
        ("line", "sent", "r1"),
        ("sms", "delivered", "SM1"),
    )
    deliveries(
        alerts["console"], people, ("line", "sent", "console-1"), ("sms", "sent", "console-2")
    )
    return alerts


def reports_in_every_status(district) -> None:
    west, south, east, north = district.area.extent
    severity = {
        "new": 5,
        "verified": 4,
        "assigned": 3,
        "resolved": 2,
        "duplicate": 1,
        "rejected": 1,
    }
    for n, status in enumerate(DamageReport.Status.values):
        DamageReport.objects.create(
            point=Point(west + (east - west) * (n + 1) / 8, (south + north) / 2, srid=4326),
            category=DamageReport.Category.values[n % len(DamageReport.Category.values)],
            severity=severity[status],
            source=DamageReport.Source.STAFF,
            status=status,
        )


def reach_of(page, alert: Alert, district) -> tuple[str, str]:
    """(the district's fill on the reach map, its tooltip's share line) for this alert."""
    page.evaluate(f"window.sonaeOps.selectReach({alert.pk})")
    item = page.locator(f".deliveries li[data-alert='{alert.pk}']")
    expect(item.get_by_role("button")).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.sonaeOps.layers.reach.eachLayer((layer) => layer.openTooltip())")
    tooltip = page.locator(f".leaflet-tooltip .reach-tip[data-district='{district.pk}']")
    share = tooltip.locator(".share").inner_text()
    fill = page.evaluate(
        "[...Object.values(window.sonaeOps.layers.reach._layers)]"
        ".map((layer) => layer.options.fillColor)[0]"
    )
    return fill, share


def test_the_map_draws_every_alert_delivery_and_report_status_without_a_script_error(
    ops_page, asgi_url, district
):
    alerts = every_status(district)
    reports_in_every_status(district)
    page = ops_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith(NOT_OURS)
            else None
        ),
    )

    ops_map.open_ops(page, asgi_url)

    # Still going out under 配信中; finished (sent, cancelled) in a list of their own.
    listed = page.locator(".deliveries .delivery-list > li[data-alert]")
    shown = ["cancel", "console", "line", "failed", "nobody", "stuck"]
    expect(listed).to_have_count(len(shown))
    assert {int(li.get_attribute("data-alert")) for li in listed.all()} == {
        alerts[name].pk for name in shown
    }
    expect(page.locator(f".deliveries li[data-alert='{alerts['stuck'].pk}']")).to_have_count(1)
    expect(
        page.locator(f"#alert-deliveries-done li[data-alert='{alerts['cancel'].pk}']")
    ).to_have_count(1)

    def figures(name: str):
        return page.locator(f".deliveries li[data-alert='{alerts[name].pk}'] .delivery-figures")

    expect(figures("stuck")).to_have_text("送信済み 0 · 配信済み 0 · 失敗 0 / 合計 2")
    expect(figures("nobody")).to_have_text("送信済み 0 · 配信済み 0 · 失敗 0 / 合計 0")
    expect(figures("failed")).to_have_text("送信済み 0 · 配信済み 0 · 失敗 2 / 合計 2")
    expect(figures("line")).to_have_text("送信済み 2 · 配信済み 1 · 失敗 0 / 合計 3")
    expect(figures("console")).to_have_text("送信済み 2 · 配信済み 0 · 失敗 0 / 合計 2")
    expect(ops_map.delivery_bar(page, alerts["failed"].pk)).to_have_attribute("aria-valuenow", "2")
    console_line = page.locator(
        f".deliveries li[data-alert='{alerts['console'].pk}'] .delivery-console"
    )
    expect(console_line).to_be_visible()
    expect(console_line).to_have_text("コンソール配信（実際には送信されません）: 2")
    expect(
        page.locator(f".deliveries li[data-alert='{alerts['line'].pk}'] .delivery-console")
    ).to_be_hidden()
    # No provider is configured in this test: the page says nothing is really sent.
    expect(page.locator(".console-delivery")).to_contain_text(
        "コンソール配信（実際には送信されません）"
    )

    # Approved (waiting for a worker), stuck, sent and the cancellation's own area are drawn;
    # the draft and the withdrawn draft are not.
    assert page.evaluate("window.sonaeOps.alertLayers.size") == 7

    assert reach_of(page, alerts["line"], district) == (REACH_100, "到達率: 100% (3/3)")
    assert reach_of(page, alerts["failed"], district) == (REACH_0, "到達率: 0% (0/2)")
    assert reach_of(page, alerts["stuck"], district) == (REACH_0, "到達率: 0% (0/2)")
    assert reach_of(page, alerts["console"], district) == (REACH_0, "到達率: 0% (0/2)")
    assert reach_of(page, alerts["nobody"], district) == (NO_RECIPIENTS, "受信者なし")

    # Unresolved reports by severity; every status drawn once the filter asks for all.
    for severity, count in {"5": 1, "4": 1, "3": 1, "2": 0, "1": 0}.items():
        expect(page.locator(f"#figure-severity-{severity}")).to_have_text(str(count))
    every = len(DamageReport.Status)
    # Markers for the reports the filter selects (the unresolved ones, as it starts); the
    # tiles draw every open one whatever their number.
    page.wait_for_function("() => window.sonaeOps.reportMarkers.size === 3")
    drawn = "window.sonaeOps.layers.reports.getLayers().length"
    assert page.evaluate(drawn) == 3
    page.select_option("#report-filters select[name=status]", "")
    page.wait_for_function(f"() => {drawn} === {every}")

    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    assert errors == []


def test_a_page_whose_session_ends_says_so_instead_of_reconnecting(ops_page, asgi_url, settings):
    settings.LIVE_AUTH_RECHECK_S = 0.1
    page = ops_page
    ops_map.open_ops(page, asgi_url)

    Session.objects.all().delete()  # signed out (a logout elsewhere, an expiry, an admin)

    live = page.locator("#live")
    expect(live).to_have_attribute("data-state", "signed-out")
    expect(live).to_have_text("ログインが切れました — ページを開き直してください")
    assert page.evaluate(
        "window.sonaeOps.live.socket === null && window.sonaeOps.live.timer === null"
    )
