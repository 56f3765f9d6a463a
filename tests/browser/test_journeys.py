"""Journeys as people walk them, in a real browser against the real ASGI server: each step
saved as a screenshot in tests/artifacts/ (at 1920×1080, and at 1366×768 where the layout
must still work) and checked with axe-core.

1. An operations officer signs in, triages a report, plans a transfer from its proposal,
   approves a shelter's supply request, drafts an alert; a second officer reviews and
   approves it; it goes out and the first officer follows its reach.
2. An administrator makes a manager for one shelter, imports shelter open data after its
   preview, and reads the audit log.
3. Both again in English.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from playwright.sync_api import expect

from alerts.delivery import fanout
from alerts.models import Alert, Subscriber
from disaster.core.geography import District
from disaster.core.models import AuditEntry, User
from disaster.core.roles import Role
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from shelters.services import change_status, record_headcount
from stockpile import services
from stockpile.models import Depot, SupplyRequest, Transfer
from tests.browser.conftest import ARTIFACTS, serious_accessibility_violations
from tests.browser.test_ops_map import asgi_url  # noqa: F401 (the real ASGI server)
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BIG, LAPTOP = {"width": 1920, "height": 1080}, {"width": 1366, "height": 768}
SITES = Path(settings.SHARED_DATA_DIR) / "gsi-emergency-142166.geojson"


def step(page, name: str, *, laptop: bool = True, accessible: bool = True) -> None:
    """Save the page as it is (the big screen, and the laptop when asked) and check it with
    axe-core: no serious or critical finding."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(BIG)
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}-1920.png"))
    if laptop:
        page.set_viewport_size(LAPTOP)
        page.screenshot(path=str(ARTIFACTS / f"journey-{name}-1366.png"))
        page.set_viewport_size(BIG)
    if accessible:
        assert serious_accessibility_violations(page) == [], name


@pytest.fixture
def new_browser_page(browser):
    """new_browser_page(language) → a page of a fresh browser (nobody signed in)."""
    contexts = []

    def open_page(language: str):
        locale = "ja-JP" if language == "ja" else "en-GB"
        context = browser.new_context(locale=locale, timezone_id="Asia/Tokyo", viewport=BIG)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, url: str, username: str, language: str) -> None:
    page.goto(url + "/login/")
    if language == "en":
        page.locator("#language").select_option("en")
        page.locator("header form.inline button[type=submit]").last.click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(url + "/")
    expect(page.locator("html")).to_have_attribute("lang", language)


def sign_out(page) -> None:
    page.locator("nav.account form.inline button[type=submit]").first.click()
    page.wait_for_load_state()


@pytest.fixture
def city(make_user, ops_user, manager_user, shelter, other_shelter, water):
    """A district with residents, an open shelter short of water with its manager's supply
    request, a central depot with plenty, and a damage report to triage."""
    make_user("ops2", Role.OPERATIONS)
    district = District.objects.create(
        name="相模が丘", area=MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.43, 35.52)))
    )
    for n, phone in enumerate(("+819000000101", "+819000000102", "+819000000103")):
        person = Subscriber.objects.create(
            phone=phone,
            phone_confirmed_at=timezone.now(),
            consent_method=Subscriber.ConsentMethod.SMS,
            home=Point(139.41 + n * 0.002, 35.51, srid=4326),
        )
        person.districts.add(district)
    change_status(shelter.pk, status=Shelter.Status.OPEN, by=manager_user)
    record_headcount(shelter.pk, total=120, by=manager_user)
    depot = Depot.objects.create(name="相模が丘小 備蓄倉庫", point=shelter.point, shelter=shelter)
    central = Depot.objects.create(
        name="座間市中央備蓄倉庫", point=Point(139.39, 35.455, srid=4326)
    )
    services.receive_stock(
        depot=central, item=water, quantity=20000, expires_on=None, source="procured", by=ops_user
    )
    asked = services.request_supplies(
        depot=depot, lines=[(water, 500)], urgency="urgent", by=manager_user, note="断水"
    )
    report = DamageReport.objects.create(
        point=Point(139.412, 35.508, srid=4326),
        category=DamageReport.Category.values[0],
        severity=4,
        description="道路が陥没しています",
        source=DamageReport.Source.WEB,
        reporter_contact="090-1111-2222",
    )
    return {"request": asked, "report": report, "depot": depot, "water": water}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_operations_officer_works_from_triage_to_an_alert_that_goes_out(
    new_browser_page,
    asgi_url,  # noqa: F811 (the fixture imported above)
    city,
    language,
):
    url = asgi_url
    page = new_browser_page(language)
    sign_in(page, url, "ops", language)
    expect(page.locator(".work a[href='/ops/supplies/']")).to_be_visible()
    step(page, f"{language}-ops-01-home")

    # Triage: the report's popup shows when, from where, the contact, and what may be done.
    page.locator("nav.sections a[href='/ops/']").click()
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-ready", "true")
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-markers", "loaded")
    report = city["report"]
    page.evaluate(f"window.sonaeOps.openReport({report.pk})")
    popup = page.locator(f".leaflet-popup-content [data-report='{report.pk}']")
    expect(popup.locator(".contact")).to_contain_text("090-1111-2222")
    expect(popup.locator("button[data-action=reject]")).to_be_visible()
    step(page, f"{language}-ops-02-triage-popup")
    popup.locator("button[data-action=verify]").click()
    expect(page.locator("#triage-result")).to_contain_text(f"#{report.pk}")
    report.refresh_from_db()
    assert report.status == DamageReport.Status.VERIFIED

    # A transfer planned from the proposal for the shortage.
    page.locator("nav.sections a[href='/ops/transfers/']").click()
    proposal = page.locator(f"tr[data-depot='{city['depot'].pk}'][data-item='{city['water'].pk}']")
    expect(proposal).to_be_visible()
    step(page, f"{language}-ops-03-transfer-proposals")
    proposal.locator("button[type=submit]").click()
    expect(page.locator(".messages li")).to_be_visible()
    planned = Transfer.objects.get(request_line=None)
    assert (planned.to_depot, planned.status) == (city["depot"], Transfer.Status.PLANNED)
    step(page, f"{language}-ops-04-transfer-planned", laptop=False)

    # The shelter's supply request approved with the proposed transfer.
    page.locator("nav.sections a[href='/ops/supplies/']").click()
    card = page.locator(f"[data-request='{city['request'].pk}']")
    step(page, f"{language}-ops-05-supply-request")
    card.locator("button[value=approve_plan]").click()
    expect(page.locator(".messages li")).to_be_visible()
    city["request"].refresh_from_db()
    assert city["request"].status == SupplyRequest.Status.APPROVED
    assert Transfer.objects.filter(request_line__request=city["request"]).count() == 1

    # An alert drafted for the district.
    page.locator("nav.sections a[href='/ops/alerts/']").click()
    expect(page.locator("#alerts-page")).to_have_attribute("data-ready", "true")
    page.select_option("select[name=kind]", "evacuation_4")
    page.select_option("select[name=hazard]", "earthquake")
    page.locator("#alert-form [name=title_ja]").fill("避難指示")
    page.locator("#alert-form [name=body_ja]").fill("直ちに避難してください。")
    district = District.objects.get()
    page.locator(f"input[name=district_ids][value='{district.pk}']").check()
    page.locator("#alert-form button[type=submit]").last.click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-ready", "true")
    alert = Alert.objects.get()
    expect(page.locator("#recipients-sms")).to_have_text("3")
    step(page, f"{language}-ops-06-alert-drafted")
    sign_out(page)

    # A second officer reviews the draft read-only and approves the version shown.
    sign_in(page, url, "ops2", language)
    page.goto(url + "/ops/alerts/")
    expect(page.locator("#alerts-page")).to_have_attribute("data-ready", "true")
    page.locator(f"#alert-list li[data-alert='{alert.pk}'] button").click()
    expect(page.locator("#alert-detail")).to_have_attribute("data-alert", str(alert.pk))
    expect(page.locator("#approve")).to_be_visible()
    step(page, f"{language}-ops-07-review")
    page.locator("#approve").click()
    page.locator("#approve-yes").click()
    expect(page.locator("#detail-facts")).to_contain_text("ops2")

    # The worker's job sends it (against the fake SMS provider), and its reach is followed.
    fanout.send(alert.pk)
    page.goto(url + f"/ops/?reach={alert.pk}")
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-ready", "true")
    expect(page.locator("#ops-map-panel")).to_have_attribute("data-markers", "loaded")
    expect(page.locator("#report-count")).to_have_attribute("data-markers", "1")
    expect(
        page.locator(f".deliveries li[data-alert='{alert.pk}'] [role=progressbar]")
    ).to_have_attribute("aria-valuenow", "3")
    step(page, f"{language}-ops-08-reach-map")
    page.goto(url + f"/ops/alerts/{alert.pk}/deliveries/")
    expect(page.locator("#deliveries tbody tr")).to_have_count(3)
    step(page, f"{language}-ops-09-deliveries")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_administrator_makes_a_manager_imports_open_data_and_reads_the_audit_log(
    new_browser_page,
    asgi_url,  # noqa: F811 (the fixture imported above)
    admin_user,
    shelter,
    other_shelter,
    language,
):
    url = asgi_url
    page = new_browser_page(language)
    sign_in(page, url, admin_user.username, language)
    step(page, f"{language}-admin-01-home", laptop=False)

    # A manager for one shelter, from the user's page.
    page.locator("nav.sections a[href='/admin/']").click()
    page.goto(url + "/admin/disaster/user/add/")
    page.locator("#id_username").fill("kurihara-mgr")
    page.select_option("#id_role", Role.SHELTER_MANAGER)
    page.locator("#id_password1").fill("a long enough pass phrase 42")
    page.locator("#id_password2").fill("a long enough pass phrase 42")
    page.locator(f"#id_shelters_from option[value='{other_shelter.pk}']").dblclick()
    step(page, f"{language}-admin-02-new-manager", laptop=False, accessible=False)
    page.locator("input[name=_save]").click()
    manager = User.objects.get(username="kurihara-mgr")
    assert list(manager.managed_shelters.all()) == [other_shelter]

    # Open data: previewed, then the same file imported.
    collection = json.loads(SITES.read_text(encoding="utf-8-sig"))
    collection["features"] = collection["features"][:3]
    upload = {
        "name": "sites.geojson",
        "mimeType": "application/geo+json",
        "buffer": json.dumps(collection, ensure_ascii=False).encode(),
    }
    page.goto(url + "/admin/shelters/shelter/")
    page.locator("a[href$='/shelters/shelter/opendata/']").click()
    page.locator("#id_file").set_input_files(upload)
    page.locator("#import-try").click()
    expect(page.locator("#import-preview")).to_have_attribute("data-dry-run", "true")
    expect(page.locator("#import-preview tbody tr")).to_have_count(3)
    step(page, f"{language}-admin-03-import-preview", laptop=False, accessible=False)
    before = Shelter.objects.count()
    page.locator("#id_file").set_input_files(upload)
    page.locator("#import-apply").click()
    expect(page.locator("#import-preview")).to_have_attribute("data-dry-run", "false")
    assert Shelter.objects.count() == before + 3
    step(page, f"{language}-admin-04-imported", laptop=False, accessible=False)

    # The audit log says who did what to what, in words.
    page.goto(url + "/admin/disaster/auditentry/")
    expect(page.locator("#result_list")).to_contain_text(other_shelter.name)
    step(page, f"{language}-admin-05-audit-log", laptop=False, accessible=False)
    entry = AuditEntry.objects.get(action="user.shelters")
    page.goto(url + f"/admin/disaster/auditentry/{entry.pk}/change/")
    expect(page.locator("table.audit-changes")).to_contain_text(other_shelter.name)
    step(page, f"{language}-admin-06-audit-entry", laptop=False, accessible=False)
