"""What residents see of a shelter: where it is, which hazards it serves and a band
(空き / 混雑 / 満員), never a head-count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.utils.translation import gettext_lazy

from shelters.models import Shelter
from shelters.services import percent_of_capacity

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class Occupancy(TypedDict):
    """What `Shelter.objects.with_occupancy()` adds that the public band is made from."""

    occupancy: int


# The public occupancy band: residents need "can I go there", not a head-count.
FREE, CROWDED, FULL = "free", "crowded", "full"
BAND_LABELS = {
    FREE: gettext_lazy("空き"),
    CROWDED: gettext_lazy("混雑"),
    FULL: gettext_lazy("満員"),
}


def occupancy_band(status: str, occupancy: int, capacity: int) -> str:
    """満員 when the shelter says so or is at capacity, 混雑 from MAP_CROWDED_PERCENT % of
    capacity, else 空き. A shelter without a known capacity is 空き unless it says full."""
    percent = percent_of_capacity(occupancy, capacity)
    if status == Shelter.Status.FULL or (percent is not None and percent >= 100):
        return FULL
    if percent is not None and percent >= settings.MAP_CROWDED_PERCENT:
        return CROWDED
    return FREE


def public_shelter(shelter: WithAnnotations[Shelter, Occupancy]) -> dict[str, Any]:
    """A shelter as the public sees it: where, for which hazards, and its band. Never a
    head-count, a phone number of staff or anything about the people inside."""
    band = occupancy_band(shelter.status, shelter.occupancy, shelter.capacity)
    return {
        "id": shelter.pk,
        "name": shelter.name,
        "name_en": shelter.name_en,
        "address": shelter.address,
        "hazards": list(shelter.hazards),
        "status": shelter.status,
        "band": band,
        "band_label": str(BAND_LABELS[band]),
        "latitude": shelter.point.y,
        "longitude": shelter.point.x,
    }
