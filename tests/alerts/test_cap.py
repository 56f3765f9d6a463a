"""CAP 1.2 documents and the Atom feed, validated against OASIS's own schema in
../shared/data; only alerts that went out are public."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import xmlschema
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from alerts.models import Alert
from disaster.core.geography import District

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
    assert [i.findtext(f"{CAP}language") for i in infos] == ["ja-JP", "en-US"]
    assert infos[0].findtext(f"{CAP}responseType") == "Evacuate"
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
