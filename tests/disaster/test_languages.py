"""Which language a page speaks: residents choose among every residents' language, staff
among 日本語 and English, and a staff member who chose a residents' language on the public
map gets their own pages in a staff language, never half-translated."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from alerts.delivery.messages import headline
from alerts.models import Alert
from disaster.core import languages

pytestmark = pytest.mark.django_db


def page_language(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def menu(response) -> list[str]:
    chooser = response.content.decode().split('<select id="language"', 1)[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]+)"', chooser)


def test_a_resident_chooses_among_every_residents_language(client):
    client.cookies["django_language"] = "vi"

    response = client.get("/map/")

    assert page_language(response) == "vi"
    assert menu(response) == [code for code, _name in languages.RESIDENT]
    assert len(menu(response)) == 9


@pytest.mark.parametrize(("chosen", "shown"), [("vi", "en"), ("ja-easy", "ja"), ("en", "en")])
def test_staff_get_their_pages_in_a_staff_language_whatever_they_chose_on_the_map(
    session_as, ops_user, chosen, shown
):
    client = session_as(ops_user)
    client.cookies["django_language"] = chosen

    response = client.get("/")

    assert page_language(response) == shown
    assert menu(response) == ["ja", "en"]


@pytest.fixture
def level_4(db) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="目久尻川 避難指示",
        body_ja="直ちに避難してください",
        whole_city=True,
        channels=["sms"],
        status=Alert.Status.SENT,
        approved_at=now,
        sent_at=now,
    )


def test_an_alerts_public_page_heads_it_with_the_languages_template(client, level_4):
    client.cookies["django_language"] = "zh-hans"

    found = client.get(f"/api/v1/map/public/alerts/{level_4.pk}").json()

    what, action = headline(level_4, "zh")
    assert (found["title"], found["action"], found["kind_label"]) == (what, action, "")
    assert "4" in what and "目久尻川" not in what and action


def test_an_alerts_public_page_in_japanese_keeps_the_staffs_title(client, level_4):
    found = client.get(f"/api/v1/map/public/alerts/{level_4.pk}").json()

    assert found["title"] == "目久尻川 避難指示" and found["kind_label"]
    assert found["action"] == headline(level_4, "ja")[1]


def test_every_language_a_subscriber_chooses_has_its_django_code_and_name():
    from alerts.models import Language

    assert sorted(languages.DJANGO_CODES) == sorted(Language.values)
    assert dict(Language.choices) == languages.NAMES
