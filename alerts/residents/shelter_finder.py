"""The nearest open shelters for a resident who asks by LINE (a shared location) or by SMS
(a district name or a postal code), said in as few words as the channel allows.

Only shelters accepting people now (status open) are offered, nearest first by
straight-line distance (a KNN scan of the GiST index, then metres on the spheroid), each
with its occupancy band (空き / 混雑 / 満員), never a head-count.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from alerts.delivery.messages import fits_one_sms
from disaster.core import languages
from disaster.core.geography import District
from shelters.models import Shelter
from shelters.public import public_shelter

NEAREST = 3


@dataclass
class Nearby:
    name: str
    distance_m: float
    band_label: str
    link: str

    @property
    def distance(self) -> str:
        if self.distance_m < 1000:
            return f"{round(self.distance_m, -1):.0f}m"
        return f"{self.distance_m / 1000:.1f}km"


def nearest_open(here: Point, count: int = NEAREST) -> list[Nearby]:
    shelters = Shelter.objects.open_to_public().accepting().nearest(here)[:count]
    found = []
    for shelter in shelters:
        public = public_shelter(shelter)
        found.append(
            Nearby(
                name=languages.readable(shelter.name, shelter.name_en),
                distance_m=shelter.distance.m,
                band_label=public["band_label"],
                link=settings.SHELTER_MAP_LINK.format(
                    latitude=shelter.point.y, longitude=shelter.point.x
                ),
            )
        )
    return found


def line_text(here: Point) -> str:
    """The three nearest open shelters, one paragraph each, with a map link."""
    nearby = nearest_open(here)
    if not nearby:
        return _("いま開設している避難所はありません。")
    lines = [_("近くの開設中の避難所（直線距離）:")]
    for number, shelter in enumerate(nearby, 1):
        lines.append(f"{number}. {shelter.name} {shelter.distance} {shelter.band_label}")
        lines.append(shelter.link)
    return "\n".join(lines)


def sms_text(here: Point, where: str) -> str:
    """As many of the three nearest open shelters as fit one SMS (a name cut short if even
    one does not), e.g. "栗原 近くの避難所: 栗原小学校 1.2km 空き / 座間中学校 2.0km 混雑"."""
    nearby = nearest_open(here)
    head = _("%(where)s 近くの避難所:") % {"where": where}
    if not nearby:
        return fit_sms(_("%(where)s 近く: 開設中の避難所はありません。") % {"where": where})
    text = ""
    for shelter in nearby:
        entry = f"{shelter.name} {shelter.distance} {shelter.band_label}"
        longer = f"{text} / {entry}" if text else f"{head} {entry}"
        if text and not fits_one_sms(longer):
            break
        text = longer
    return fit_sms(text)


def fit_sms(text: str) -> str:
    """Cut to one SMS, marking the cut."""
    while not fits_one_sms(text):
        text = text[:-2] + "…"
    return text


def normalised(words: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", words)).strip()


def district_named(words: str) -> District | None:
    """The district a resident named: by postal code (〒252-0001, 2520001), by its name
    (exact, then the only district whose name contains the words), or by its English name."""
    text = normalised(words).removeprefix("〒").strip()
    digits = re.sub(r"[-‐―ー−]", "", text)
    if re.fullmatch(r"\d{7}", digits):
        return District.objects.filter(postal_codes__contains=[digits]).first()
    if not text:
        return None
    exact = District.objects.filter(name=text) | District.objects.filter(name_en__iexact=text)
    if exact.exists():
        return exact.first()
    partial = list(District.objects.filter(name__contains=text)[:2])
    return partial[0] if len(partial) == 1 else None


def district_point(district: District) -> Point:
    """A point surely inside the district, to measure from."""
    return district.area.point_on_surface
