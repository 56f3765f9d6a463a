"""The operations staff's alerts page, `/ops/alerts/`: staff only, rendered with what its
script needs (the API root, the labels of kinds and statuses, the drawing map)."""

import json
import re

import pytest

from disaster.core.roles import Role

pytestmark = pytest.mark.django_db

URL = "/ops/alerts/"


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_shelter_manager_is_refused(session_as, manager_user):
    assert session_as(manager_user).get(URL).status_code == 403


@pytest.mark.parametrize("role", [Role.OPERATIONS, Role.ADMINISTRATOR])
def test_operations_staff_and_administrators_get_the_page(session_as, users, role):
    response = session_as(users[role]).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="alert-form"' in html
    assert 'id="alertmap"' in html
    assert 'data-api-url="/api/v1/"' in html
    assert "alerts/alerts.js" in html
    assert response.cookies.get("csrftoken")


def test_the_page_carries_every_kind_and_status_label(session_as, ops_user):
    response = session_as(ops_user).get(URL)

    match = re.search(
        r'<script id="alerts-labels" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    labels = json.loads(match.group(1))
    assert labels["kinds"]["evacuation_4"] == "警戒レベル4 避難指示"
    assert set(labels["statuses"]) == {"draft", "approved", "sending", "sent", "cancelled"}


def test_the_page_is_offered_in_english(session_as, ops_user):
    client = session_as(ops_user)
    client.cookies["django_language"] = "en"

    response = client.get(URL, headers={"Accept-Language": "en"})

    assert response.status_code == 200
    assert "Draft and approve alerts" in response.content.decode()


def test_the_operations_map_links_to_the_alerts_page(session_as, ops_user):
    response = session_as(ops_user).get("/ops/")

    assert f'href="{URL}"' in response.content.decode()


CONSOLE_BANNER = "コンソール配信（実際には送信されません）"


@pytest.mark.parametrize("url", ["/ops/", URL])
def test_staff_pages_say_when_alerts_go_to_the_console(session_as, ops_user, settings, url):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.LINE_CHANNEL_ACCESS_TOKEN = "line-token"

    html = session_as(ops_user).get(url).content.decode()

    assert f"{CONSOLE_BANNER}: SMS" in html
    assert 'data-channels="sms"' in html


@pytest.mark.parametrize("url", ["/ops/", URL])
def test_staff_pages_carry_no_console_banner_when_every_provider_is_configured(
    session_as, ops_user, settings, url
):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    settings.LINE_CHANNEL_ACCESS_TOKEN = "line-token"

    response = session_as(ops_user).get(url)

    assert response.status_code == 200
    assert CONSOLE_BANNER not in response.content.decode()
