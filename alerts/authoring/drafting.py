"""What staff see while drafting: the shelters people in the target area should go to.

A shelter is suggested when it serves the alert's hazard, is open or preparing to open,
and lies in or near the area. For hazards that make the area itself the danger (water and
land: flood, inland flooding, storm surge, tsunami, landslide), shelters *inside* the area
are left out: people are leaving it. For an earthquake, fire or volcano alert the shelters
inside stay, being where people already are (`alerts.areas`).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.areas import in_or_near, target_area
from alerts.models import Alert
from shelters.models import Shelter
from stockpile.coverage import levels
from stockpile.models import Depot


@dataclass
class SuggestedShelter:
    id: int
    name: str
    status: str
    capacity: int
    evacuees: int
    free: int
    days_of_supply: float | None  # the item that runs out first, None without evacuees
    distance_m: float


def shelters_for(alert: Alert) -> list[SuggestedShelter]:
    """Open or opening shelters for the alert's hazard in or near its area, nearest first."""
    area = target_area(alert)
    shelters = in_or_near(
        alert,
        area,
        Shelter.objects.filter(
            status__in=[Shelter.Status.OPEN, Shelter.Status.PREPARING]
        ).with_occupancy(),
    )
    found = list(shelters[:50])
    worst: dict[int, float] = {}
    depots = Depot.objects.filter(shelter__in=found)
    for level in levels(depots=depots):
        if level.days_of_supply is not None and level.depot.shelter_id is not None:
            shelter_id = level.depot.shelter_id
            worst[shelter_id] = min(
                worst.get(shelter_id, level.days_of_supply), level.days_of_supply
            )
    return [
        SuggestedShelter(
            id=s.pk,
            name=s.name,
            status=s.status,
            capacity=s.capacity,
            evacuees=s.occupancy,
            free=max(0, s.capacity - s.occupancy),
            days_of_supply=worst.get(s.pk),
            distance_m=round(s.distance.m, 1) if area is not None else 0.0,
        )
        for s in found
    ]
