"""CAP 1.2 documents and the Atom feed, validated against OASIS's own schema in
../shared/data; only alerts that went out are public."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from alerts.models import Alert
from disaster.core.geography import CityBoundary, District

pytestmark = pytest.mark.django_db

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
SQUARE = Polygon(
    ((139.40, 35.48), (139.42, 35.48), (139.42, 35.50), (139.40, 35.50), (139.40, 35.48))
)


@pytest.fixture(scope="module")
def cap_schema():
    return xmlschema.XMLSchema(str(settings.SHARED_DATA_DIR / "CAP-v1.2.xsd"))


def sent_alert(**extra) -> Alert:
    now = timezone.now()
    fields = {
        "kind": Alert.Kind.EVACUATION_4,
        "hazard": "flood",
        "title_ja": "避難指示（相模川）",
        "body_ja": "相模川が氾濫するおそれ。直ちに避難を。",
        "title_en": "Evacuation order (Sagami River)",
        "body_en": "The Sagami River may flood. Evacuate now.",
        "channels": ["line", "sms"],
        "area": MultiPolygon(SQUARE, srid=4326),
        "status": Alert.Status.SENT,
        "approved_at": now,
        "sent_at": now,
    }
    alert = Alert.objects.create(**{**fields, **extra})
    return alert


def test_the_real_example_in_shared_data_is_valid_so_the_schema_check_means_something(
    cap_schema,
):
    cap_schema.validate(str(settings.SHARED_DATA_DIR / "cap-example-amber-alert.xml"))
    assert not cap_schema.is_valid("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>")


def test_a_sent_alert_is_valid_cap_with_one_info_per_language_and_its_polygon(client, cap_schema):
    alert = sent_alert()

    response = client.get(f"/alerts/{alert.pk}.cap")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/cap+xml")
    cap_schema.validate(response.content.decode())
    root = ET.fromstring(response.content)
    assert root.findtext(f"{CAP}status") == "Actual"
    assert root.findtext(f"{CAP}msgType") == "Alert"
    infos = root.findall(f"{CAP}info")
    assert [i.findtext(f"{CAP}language") for i in infos] == [
        "ja-JP",
        "en-US",
        "zh-CN",
        "ko-KR",
        "vi-VN",
        "ja-JP-x-easy",
        "pt-BR",
        "fil-PH",
        "ne-NP",
    ]
    assert infos[0].findtext(f"{CAP}responseType") == "Evacuate"
    # Each says the level and the order in its language; staff's own English follows.
    assert infos[0].findtext(f"{CAP}headline") == "【警戒レベル4】避難指示"
    assert infos[1].findtext(f"{CAP}headline").startswith("Alert Level 4: Evacuation")
    assert "Evacuate now." in infos[1].findtext(f"{CAP}description")
    assert infos[6].findtext(f"{CAP}headline").startswith("Nível de alerta 4")
    assert "(em japonês):\n避難指示（相模川）" in infos[6].findtext(f"{CAP}description")
    polygon = infos[0].findtext(f"{CAP}area/{CAP}polygon").split()
    assert polygon[0] == polygon[-1] == "35.480000,139.400000"  # lat,lon; closed ring


def test_a_drill_is_an_exercise_and_a_cancellation_references_the_original(client, cap_schema):
    drill = sent_alert(is_drill=True)
    cancel = sent_alert(is_drill=True, msg_type="cancel", references=drill)

    root = ET.fromstring(client.get(f"/alerts/{cancel.pk}.cap").content)

    cap_schema.validate(client.get(f"/alerts/{cancel.pk}.cap").content.decode())
    assert root.findtext(f"{CAP}status") == "Exercise"
    assert root.findtext(f"{CAP}msgType") == "Cancel"
    assert f"urn:sonae:{settings.CITY_CODE}:alert:{drill.pk}" in root.findtext(f"{CAP}references")


def test_a_whole_city_alert_names_the_city_by_its_code_and_districts_become_polygons(
    client, cap_schema
):
    city = sent_alert(area=None, whole_city=True)
    district_alert = sent_alert(area=None)
    district_alert.districts.add(
        District.objects.create(name="東地区", area=MultiPolygon(SQUARE, srid=4326))
    )

    city_root = ET.fromstring(client.get(f"/alerts/{city.pk}.cap").content)
    district_xml = client.get(f"/alerts/{district_alert.pk}.cap").content.decode()

    cap_schema.validate(district_xml)
    assert city_root.findtext(f"{CAP}info/{CAP}area/{CAP}geocode/{CAP}value") == (
        settings.CITY_CODE
    )
    assert "東地区" in district_xml and "<polygon>" in district_xml


def test_drafts_are_not_public(client):
    draft = sent_alert(status=Alert.Status.DRAFT)

    assert client.get(f"/alerts/{draft.pk}.cap").status_code == 404
    assert client.get(f"/a/{draft.pk}").status_code == 404


def test_the_feed_lists_current_real_alerts_with_their_cap_and_leaves_out_drills_and_cancelled(
    client, cap_schema
):
    current = sent_alert()
    sent_alert(is_drill=True)
    withdrawn = sent_alert()
    sent_alert(msg_type="cancel", references=withdrawn)

    response = client.get("/alerts/feed.atom")

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert f"urn:sonae:{settings.CITY_CODE}:alert:{current.pk}" in ids
    assert f"urn:sonae:{settings.CITY_CODE}:alert:{withdrawn.pk}" not in ids
    assert all("Exercise" not in ET.tostring(e, encoding="unicode") for e in entries)
    for entry in entries:
        cap_schema.validate(
            ET.tostring(entry.find(f"{ATOM}content/{CAP}alert"), encoding="unicode")
        )
        assert entry.find(f"{ATOM}link").get("href").endswith(".cap")


def test_the_short_link_in_an_sms_opens_the_public_shelter_map(client):
    alert = sent_alert()

    response = client.get(f"/a/{alert.pk}")

    assert response.status_code == 302
    assert response["Location"] == f"/map/?alert={alert.pk}"


def parsed_feed(client) -> ET.Element:
    """The Atom feed, well-formed and with what RFC 4287 requires of a feed and its entries."""
    response = client.get("/alerts/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # raises on anything not well-formed
    assert feed.tag == f"{ATOM}feed"
    for element in [feed, *feed.findall(f"{ATOM}entry")]:
        for required in ("id", "title", "updated"):
            assert element.findtext(f"{ATOM}{required}"), (element.tag, required)
        # RFC 3339 date-times
        dt.datetime.fromisoformat(element.findtext(f"{ATOM}updated"))
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    return feed


def feed_ids(client) -> list[str]:
    return [e.findtext(f"{ATOM}id") for e in parsed_feed(client).findall(f"{ATOM}entry")]


def urn(alert: Alert) -> str:
    return f"urn:sonae:{settings.CITY_CODE}:alert:{alert.pk}"


ALL_LANGUAGES = {
    f"{part}_{suffix}": f"{part} {suffix}"
    for suffix in ("en", "zh", "ko", "vi", "ja_easy")
    for part in ("title", "body")
}


def test_every_kind_and_state_of_a_public_alert_is_valid_cap_and_the_feed_stays_valid(
    client, cap_schema
):
    district = District.objects.create(
        name="東地区",
        area=MultiPolygon(Polygon.from_bbox((139.42, 35.48, 139.44, 35.50)), srid=4326),
    )
    made = []
    for kind in Alert.Kind.values:
        made.append(sent_alert(kind=kind, hazard=""))
    made.append(sent_alert(whole_city=True, area=None, **ALL_LANGUAGES))
    made.append(sent_alert(status=Alert.Status.APPROVED, sent_at=None))
    made.append(sent_alert(status=Alert.Status.SENDING, sent_at=None, asks_safety=True))
    original = sent_alert()
    made.append(sent_alert(msg_type="update", references=original))
    made.append(original)
    with_district = sent_alert(area=None)
    with_district.districts.add(district)
    made.append(with_district)

    for alert in made:
        response = client.get(f"/alerts/{alert.pk}.cap")
        assert response.status_code == 200, alert.kind
        cap_schema.validate(response.content.decode())
    feed = parsed_feed(client)
    contents = feed.findall(f"{ATOM}entry/{ATOM}content/{CAP}alert")
    assert len(contents) == len(made)
    for content in contents:
        cap_schema.validate(ET.tostring(content, encoding="unicode"))


def test_a_control_character_stored_before_the_rule_breaks_neither_cap_nor_the_feed(
    client, cap_schema
):
    # What Excel pastes for a line break inside a cell, and a C1 control, saved before
    # drafts were checked for them (or by a path that does not check).
    alert = sent_alert(title_ja="避難指示\x0b相模川", body_ja="直ちに\x85避難を\x1f。")

    cap = client.get(f"/alerts/{alert.pk}.cap").content.decode()
    feed = parsed_feed(client)

    cap_schema.validate(cap)
    assert "避難指示相模川\n直ちに避難を。" in cap
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "避難指示相模川"
    assert entry.findtext(f"{ATOM}summary") == "直ちに避難を。"


def test_an_alert_is_in_the_feed_from_its_approval_and_stays_while_its_fan_out_stalls(client):
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    approved = sent_alert(status=Alert.Status.APPROVED, sent_at=None)
    stalled = sent_alert(status=Alert.Status.SENDING, approved_at=an_hour_ago, sent_at=None)
    draft = sent_alert(status=Alert.Status.DRAFT, approved_at=None, sent_at=None)
    withdrawn = sent_alert(status=Alert.Status.CANCELLED, approved_at=None, sent_at=None)

    ids = feed_ids(client)

    assert urn(approved) in ids and urn(stalled) in ids
    assert urn(draft) not in ids and urn(withdrawn) not in ids
    for public in (approved, stalled):
        assert client.get(f"/alerts/{public.pk}.cap").status_code == 200
        assert client.get(f"/a/{public.pk}").status_code == 302


def test_an_approved_cancellation_takes_its_original_out_of_the_feed_at_once(client):
    original = sent_alert()
    cancel = sent_alert(
        msg_type="cancel", references=original, status=Alert.Status.APPROVED, sent_at=None
    )

    ids = feed_ids(client)

    assert urn(original) not in ids
    assert urn(cancel) in ids


def test_cap_carries_only_the_part_of_an_area_inside_the_city(client, cap_schema, settings):
    city = Polygon.from_bbox((139.40, 35.48, 139.44, 35.52))
    CityBoundary.objects.create(
        code=settings.CITY_CODE, name="試験市", area=MultiPolygon(city, srid=4326)
    )
    # Drawn 300 m past the eastern boundary (allowed when drafting, within the buffer).
    drawn = Polygon.from_bbox((139.43, 35.49, 139.4433, 35.50))
    alert = sent_alert(area=MultiPolygon(drawn, srid=4326))

    cap = client.get(f"/alerts/{alert.pk}.cap").content.decode()

    cap_schema.validate(cap)
    (ring,) = ET.fromstring(cap).find(f"{CAP}info").findall(f"{CAP}area/{CAP}polygon")
    points = [tuple(map(float, pair.split(","))) for pair in ring.text.split()]
    advertised = Polygon([(lon, lat) for lat, lon in points])
    assert max(lon for _, lon in points) == 139.44  # cut at the boundary
    assert advertised.area == pytest.approx(Polygon.from_bbox((139.43, 35.49, 139.44, 35.50)).area)


def test_a_world_sized_area_stored_before_the_rule_is_advertised_as_the_city_only(
    client, cap_schema
):
    world = Polygon.from_bbox((-179, -89, 179, 89))
    alert = sent_alert(area=MultiPolygon(world, srid=4326))

    cap = client.get(f"/alerts/{alert.pk}.cap").content.decode()

    cap_schema.validate(cap)
    (ring,) = ET.fromstring(cap).find(f"{CAP}info").findall(f"{CAP}area/{CAP}polygon")
    lats_lons = [tuple(map(float, pair.split(","))) for pair in ring.text.split()]
    west, south, east, north = settings.CITY_BBOX  # no boundary loaded: the city's box
    assert all(south <= lat <= north and west <= lon <= east for lat, lon in lats_lons)
