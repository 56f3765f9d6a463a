"""The pages in English: no Japanese left in their words, none of the labels a colliding
catalogue once gave (状態 → "Level", 解決 → "Resolved", 不足 → "Short", the report form's
box → "Status", "Sonae Sonae"), one English per msgid across every catalogue, and every
string the page scripts ask for translated.

Data stays as people typed it (a shelter's name is Japanese when it was entered so): the
pages here are filled with romanised names, so any Japanese left is the page's own."""

from __future__ import annotations

import glob
import json
import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from alerts.models import Alert, Delivery, Language, SafetyAnswer, Subscriber
from disaster.core.geography import District
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from stockpile import services
from stockpile.models import Depot

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Kana, CJK ideographs, and the full-width forms (（）、。：) that crept into English text.
JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff60]+")
WRONG_LABELS = [
    (re.compile(r"\bLevel\b(?!\s*\d)"), "状態 as Level"),
    (re.compile(r"<button[^>]*>\s*(Resolved|Rejected)"), "a status as a button (解決, 却下)"),
    (re.compile(r"<(dt|th|label)[^>]*>\s*Short\s*<"), "不足 as Short"),
    (re.compile(r'<label for="description">\s*Status'), "the report box as Status"),
    (re.compile(r"Sonae\s*(<[^>]+>\s*)*Sonae"), "Sonae Sonae"),
]


class VisibleText(HTMLParser):
    """The text a reader sees, leaving out scripts, styles and whatever is marked as being
    in another language (the language menu's 日本語, lang="ja")."""

    SKIP = {"script", "style", "template"}
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        lang = dict(attrs).get("lang")
        hidden = tag in self.SKIP or (lang is not None and not lang.startswith("en"))
        self.stack.append(hidden or bool(self.stack and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]) and data.strip():
            self.text.append(data.strip())


# Shown as they are on purpose: each language's own name (how its readers find it), and
# JMA's attribution, which the Meteorological Service Act has us give as JMA words it.
AS_THEY_ARE = sorted(
    [label for _code, label in Language.choices] + ["出典：気象庁"], key=len, reverse=True
)


def japanese_in(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for text in parser.text:
        for kept in AS_THEY_ARE:
            text = text.replace(kept, "")
        if JAPANESE.search(text):
            found.append(text)
    return found


@pytest.fixture
def city(ops_user, manager_user, shelter, other_shelter, water):
    """A small city named in romaji: shelters, a district, stock, a request, a report, an
    alert with deliveries and a need-help answer."""
    shelter.name, other_shelter.name = "Sagamigaoka Elementary", "Kurihara Elementary"
    shelter.status = Shelter.Status.OPEN
    shelter.save(), other_shelter.save()
    district = District.objects.create(
        name="Sagamigaoka", area=MultiPolygon(Polygon.from_bbox((139.40, 35.50, 139.43, 35.52)))
    )
    depot = Depot.objects.create(name="Sagamigaoka depot", point=shelter.point, shelter=shelter)
    services.request_supplies(depot=depot, lines=[(water, 100)], urgency="urgent", by=manager_user)
    DamageReport.objects.create(
        point=Point(139.41, 35.51, srid=4326),
        category="road",
        severity=3,
        description="Road blocked",
    )
    alert = Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="Evacuate",
        title_en="Evacuate",
        body_ja="Go",
        whole_city=True,
        channels=["sms"],
        status=Alert.Status.SENT,
        asks_safety=True,
    )
    person = Subscriber.objects.create(
        phone="+819000000001", name="Demo Hanako", consent_method="staff", needs_support=True
    )
    person.districts.add(district)
    Delivery.objects.create(
        alert=alert, subscriber=person, channel="sms", status="failed", last_error="30003"
    )
    SafetyAnswer.objects.create(alert=alert, subscriber=person, answer="need_help")
    return {"alert": alert, "person": person, "shelter": shelter}


def english(client):
    client.cookies["django_language"] = "en"
    return client


def pages(city) -> list[str]:
    return [
        "/",
        "/ops/",
        "/ops/alerts/",
        "/ops/supplies/",
        "/ops/supplies/?status=all",
        "/ops/transfers/",
        "/ops/residents/",
        "/ops/residents/new/",
        f"/ops/residents/{city['person'].pk}/",
        "/ops/need-help/",
        f"/ops/alerts/{city['alert'].pk}/deliveries/",
        "/account/tokens/",
        "/no-such-page/",
    ]


def test_every_staff_page_is_english_without_the_wrong_labels(session_as, ops_user, city):
    client = english(session_as(ops_user))
    found = {}
    for path in pages(city):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        html = response.content.decode()
        problems = japanese_in(html) + [
            why for pattern, why in WRONG_LABELS if pattern.search(html)
        ]
        if problems:
            found[path] = problems
    import pprint

    assert found == {}, pprint.pformat(found)


@pytest.mark.parametrize("path", ["/", "/login/", "/map/", "/map/report/", "/no-such-page/"])
def test_the_public_pages_are_english(client, db, path):
    html = english(client).get(path).content.decode()

    assert japanese_in(html) == []
    assert [why for pattern, why in WRONG_LABELS if pattern.search(html)] == []


def test_a_manager_meets_an_english_403_page(session_as, manager_user, city):
    response = english(session_as(manager_user)).get("/ops/")

    assert response.status_code == 403
    assert japanese_in(response.content.decode()) == []


def catalogue_entries() -> list[tuple[str, str | None, str, str]]:
    """(file, context, msgid, English) of every translated entry of every catalogue."""
    entries = []
    for path in sorted(glob.glob(str(ROOT / "*/locale/en/LC_MESSAGES/*.po"))):
        ctx = msgid = None
        for block in Path(path).read_text(encoding="utf-8").split("\n\n"):
            lines = [line for line in block.splitlines() if not line.startswith("#")]
            fields: dict[str, str] = {}
            key = None
            for line in lines:
                match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[0\])?)\s+"(.*)"$', line)
                if match:
                    key = match.group(1).replace("[0]", "")
                    fields[key] = match.group(2)
                elif line.startswith('"') and key:
                    fields[key] += line[1:-1]
            ctx, msgid, text = fields.get("msgctxt"), fields.get("msgid"), fields.get("msgstr")
            if msgid and text:
                entries.append((Path(path).relative_to(ROOT).as_posix(), ctx, msgid, text))
    return entries


def test_one_english_per_msgid_across_every_catalogue():
    english_of: dict[tuple, set[str]] = defaultdict(set)
    where: dict[tuple, list[str]] = defaultdict(list)
    for path, ctx, msgid, text in catalogue_entries():
        english_of[(ctx, msgid)].add(text)
        where[(ctx, msgid)].append(f"{path}: {text}")

    collisions = {key: where[key] for key, texts in english_of.items() if len(texts) > 1}

    assert collisions == {}


def test_no_english_text_has_full_width_brackets_or_japanese_commas():
    bad = [
        (path, msgid, text)
        for path, _ctx, msgid, text in catalogue_entries()
        if re.search("[（）、]", text)
    ]

    assert bad == []


SCRIPTS = [
    "maps/static/maps/ops/reports.js",
    "maps/static/maps/ops/legend.js",
    "maps/static/maps/ops/shelters.js",
    "maps/static/maps/ops/delivery.js",
    "maps/static/maps/ops/main.js",
    "maps/static/maps/ops/feed.js",
    "maps/static/maps/ops/panel.js",
    "alerts/static/alerts/alerts.js",
]


def test_every_string_the_operations_scripts_ask_for_has_its_english(client, db):
    english(client)
    catalogue = client.get("/jsi18n/").content.decode()
    wanted = set()
    for script in SCRIPTS:
        source = (ROOT / script).read_text(encoding="utf-8")
        wanted |= {m for m in re.findall(r'gettext\("([^"]+)"\)', source) if JAPANESE.search(m)}
        wanted |= {m for _c, m in re.findall(r'pgettext\("([^"]+)", "([^"]+)"\)', source)}
    missing = sorted(
        m for m in wanted if json.dumps(m)[1:-1] not in catalogue and m not in catalogue
    )
    assert missing == []
