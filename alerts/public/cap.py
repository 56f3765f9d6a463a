"""Alerts as OASIS CAP 1.2 (Common Alerting Protocol) and the Atom feed of current alerts.

CAP is what public alert aggregators and L-Alert-style systems read. One <info> per
language residents can choose, worded as their messages are (the written template, then
the staff's text); the area as CAP polygons ("lat,lon" pairs, closed)
and, for the whole city, its 全国地方公共団体コード as a geocode. Drills are
status Exercise. Validated against the official schema in the tests.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

from django.conf import settings
from django.contrib.gis.geos import GeometryCollection, GEOSGeometry, Polygon
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.delivery.messages import area_name, city_name, render
from alerts.delivery.wording import wording, words
from alerts.models import Alert, Language
from disaster.core.areas import city_outline
from disaster.core.text import publishable
from shelters.models import Hazard

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CATEGORY: dict[str, str] = {
    Hazard.FLOOD: "Met",
    Hazard.INLAND_FLOODING: "Met",
    Hazard.STORM_SURGE: "Met",
    Hazard.LANDSLIDE: "Geo",
    Hazard.EARTHQUAKE: "Geo",
    Hazard.TSUNAMI: "Geo",
    Hazard.VOLCANO: "Geo",
    Hazard.LARGE_FIRE: "Fire",
}
# kind → (responseType, urgency, severity, certainty)
MEANING: dict[str, tuple[str, str, str, str]] = {
    Alert.Kind.EVACUATION_3: ("Prepare", "Expected", "Moderate", "Likely"),
    Alert.Kind.EVACUATION_4: ("Evacuate", "Immediate", "Severe", "Likely"),
    Alert.Kind.EVACUATION_5: ("Shelter", "Immediate", "Extreme", "Observed"),
    Alert.Kind.SHELTER_OPENED: ("Monitor", "Expected", "Minor", "Observed"),
    Alert.Kind.SHELTER_CLOSED: ("Monitor", "Expected", "Minor", "Observed"),
    Alert.Kind.ALL_CLEAR: ("AllClear", "Past", "Minor", "Observed"),
    Alert.Kind.INFORMATION: ("None", "Unknown", "Unknown", "Unknown"),
}


def cap_time(moment: dt.datetime) -> str:
    """CAP's dateTime: seconds, an explicit offset, never "Z" (Tokyo time here)."""
    local = timezone.localtime(moment).replace(microsecond=0)
    return local.isoformat()


def sender() -> str:
    return f"sonae@{urlparse(settings.PUBLIC_BASE_URL).hostname or 'localhost'}"


def identifier(alert: Alert) -> str:
    return f"urn:sonae:{settings.CITY_CODE}:alert:{alert.pk}"


def sent_at(alert: Alert) -> dt.datetime:
    return alert.approved_at or alert.created_at


def _polygons(alert: Alert) -> list[str]:
    """The area as CAP polygons, only the part inside the city: an area drawn a little past
    the boundary (allowed when drafting) is never advertised beyond it."""
    shapes = [alert.area] if alert.area is not None else []
    if not alert.whole_city:
        shapes += [d.area for d in alert.districts.all()]
    if not shapes:
        return []
    city = city_outline()
    rings = []
    for shape in shapes:
        inside = shape if city.covers(shape) else shape.intersection(city)
        for polygon in _polygons_of(inside):
            ring = polygon.coords[0]  # the exterior ring
            rings.append(" ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring))
    return rings


def _polygons_of(geometry: GEOSGeometry) -> list[Polygon]:
    """The polygons in what an intersection gives (a polygon, several, or a collection
    with stray lines and points where the shapes only touch)."""
    if isinstance(geometry, Polygon):
        return [] if geometry.empty else [geometry]
    if isinstance(geometry, GeometryCollection):
        return [p for part in geometry for p in _polygons_of(part)]
    return []


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = publishable(text)
    return element


def cap_language(language: str) -> str:
    """RFC 3066 code of a language's <info> (ja-JP, pt-BR, ja-JP-x-easy…): its wording file
    says it."""
    return str(wording(language)["about"]["cap_language"])


def _words(alert: Alert, language: str) -> tuple[str, str]:
    """The <info>'s headline (the level and the order, from the written template) and its
    description: the rest of what a LINE reader of the language gets, staff text included.
    A drill says so in <status>, so its drill line is not repeated."""
    text = render(alert, language, "line").text
    if alert.is_drill:
        text = text.removeprefix(words(language)["drill"]).lstrip("\n")
    headline, _sep, description = text.partition("\n")
    return headline, description.strip()


def cap_element(alert: Alert) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(alert))
    _sub(root, "sender", sender())
    _sub(root, "sent", cap_time(sent_at(alert)))
    _sub(root, "status", "Exercise" if alert.is_drill else "Actual")
    _sub(root, "msgType", alert.get_msg_type_display())
    _sub(root, "scope", "Public")
    original = alert.references
    if original is not None:
        _sub(
            root,
            "references",
            f"{sender()},{identifier(original)},{cap_time(sent_at(original))}",
        )
    response, urgency, severity, certainty = MEANING[alert.kind]
    polygons = _polygons(alert)
    for language in Language.values:
        headline, description = _words(alert, language)
        info = _sub(root, "info")
        _sub(info, "language", cap_language(language))
        _sub(info, "category", CATEGORY.get(alert.hazard, "Safety"))
        _sub(info, "event", headline)
        _sub(info, "responseType", response)
        _sub(info, "urgency", urgency)
        _sub(info, "severity", severity)
        _sub(info, "certainty", certainty)
        expires = sent_at(alert) + dt.timedelta(minutes=alert.valid_minutes)
        _sub(info, "expires", cap_time(expires))
        _sub(info, "senderName", city_name(language))
        _sub(info, "headline", headline)
        _sub(info, "description", description)
        _sub(info, "web", f"{settings.PUBLIC_BASE_URL}/a/{alert.pk}")
        area = _sub(info, "area")
        _sub(area, "areaDesc", area_name(alert, language) or city_name(language))
        for ring in polygons:
            _sub(area, "polygon", ring)
        if alert.whole_city:
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", "JIS X 0402")
            _sub(geocode, "value", settings.CITY_CODE)
    return root


def to_cap(alert: Alert) -> bytes:
    """The alert as a CAP 1.2 XML document."""
    ET.register_namespace("", CAP_NS)
    return ET.tostring(cap_element(alert), encoding="utf-8", xml_declaration=True)


def current_alerts(limit: int = 50):
    """Real (not drill) alerts approved in the last two days that no approved cancellation
    ended: from approval on, while being sent, and if their fan-out stalls."""
    since = timezone.now() - dt.timedelta(days=2)
    cancelled = Alert.objects.filter(
        msg_type=Alert.MessageType.CANCEL, status__in=Alert.PUBLIC_STATUSES
    ).values("references_id")
    return (
        Alert.objects.filter(status__in=Alert.PUBLIC_STATUSES, is_drill=False)
        .annotate(published=Coalesce("approved_at", "created_at"))
        .filter(published__gte=since)
        .exclude(pk__in=cancelled)
        .select_related("references")
        .prefetch_related("districts")
        .order_by("-published", "-pk")[:limit]
    )


def atom_feed(alerts, self_url: str) -> bytes:
    """An Atom feed whose entries link to, and embed, each alert's CAP document."""
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("cap", CAP_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = publishable(text)
        return element

    alerts = list(alerts)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"urn:sonae:{settings.CITY_CODE}:alerts")
    sub(feed, "title", f"{settings.CITY_NAME} 避難情報")
    newest = max((sent_at(a) for a in alerts), default=timezone.now())
    sub(feed, "updated", cap_time(newest))
    sub(feed, "link", rel="self", href=self_url)
    author = sub(feed, "author")
    sub(author, "name", settings.CITY_NAME)
    for alert in alerts:
        entry = sub(feed, "entry")
        sub(entry, "id", identifier(alert))
        sub(entry, "title", alert.title_ja)
        sub(entry, "updated", cap_time(sent_at(alert)))
        cap_url = f"{settings.PUBLIC_BASE_URL}/alerts/{alert.pk}.cap"
        sub(entry, "link", rel="alternate", type="application/cap+xml", href=cap_url)
        sub(entry, "summary", alert.body_ja)
        content = sub(entry, "content", type="application/cap+xml")
        content.append(cap_element(alert))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
