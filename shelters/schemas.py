"""Request and response shapes of the shelters API."""

import datetime as dt
from typing import Annotated

from django.contrib.gis.geos import Point
from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema
from pydantic import ConfigDict

from disaster.core.schemas import Moment
from shelters.models import Hazard, HeadCount, Shelter
from shelters.services import percent_of_capacity

Latitude = Annotated[float, Field(ge=20, le=46, description="緯度（日本国内）")]
Longitude = Annotated[float, Field(ge=122, le=154, description="経度（日本国内）")]
People = Annotated[int, Field(ge=0, le=HeadCount.MAX_PEOPLE)]


class ShelterFilter(FilterSchema):
    """The filter of the shelter list, its exports and the pages that show them."""

    q: str | None = Field(None, max_length=100, description="名称・カナ・住所の一部")
    status: Annotated[list[Shelter.Status] | None, FilterLookup("status__in")] = None
    hazard: Annotated[Hazard | None, FilterLookup("hazards__contains")] = None
    is_shelter: Annotated[bool | None, FilterLookup("is_shelter")] = None
    is_evacuation_site: Annotated[bool | None, FilterLookup("is_evacuation_site")] = None
    pets_allowed: Annotated[bool | None, FilterLookup("pets_allowed")] = None
    welfare_space: Annotated[bool | None, FilterLookup("welfare_space")] = None

    def filter_q(self, value: str | None) -> Q:
        if not value:
            return Q()
        return Q(name__icontains=value) | Q(kana__icontains=value) | Q(address__icontains=value)

    def filter_hazard(self, value: Hazard | None) -> Q:
        return Q(hazards__contains=[value]) if value else Q()


class ShelterOut(Schema):
    id: int
    name: str
    kana: str
    name_en: str
    address: str
    latitude: float
    longitude: float
    is_shelter: bool
    is_evacuation_site: bool
    hazards: list[Hazard]
    accessible_toilet: bool
    generator: bool
    welfare_space: bool
    pets_allowed: bool
    phone: str
    capacity: int = Field(description="収容人数（宿泊）")
    capacity_day: int = Field(description="収容人数（日中）")
    target_people: str
    status: Shelter.Status
    status_label: str
    status_changed_at: dt.datetime
    occupancy: int = Field(description="最新の避難者数")
    occupancy_at: dt.datetime | None
    percent_of_capacity: float | None
    depot_id: int | None = Field(description="この避難所の備蓄倉庫")

    @staticmethod
    def resolve_latitude(shelter: Shelter) -> float:
        return shelter.point.y

    @staticmethod
    def resolve_longitude(shelter: Shelter) -> float:
        return shelter.point.x

    @staticmethod
    def resolve_status_label(shelter: Shelter) -> str:
        return str(shelter.get_status_display())

    @staticmethod
    def resolve_occupancy(shelter: Shelter) -> int:
        return getattr(shelter, "occupancy", 0)

    @staticmethod
    def resolve_occupancy_at(shelter: Shelter) -> dt.datetime | None:
        return getattr(shelter, "occupancy_at", None)

    @staticmethod
    def resolve_percent_of_capacity(shelter: Shelter) -> float | None:
        return percent_of_capacity(getattr(shelter, "occupancy", 0), shelter.capacity)

    @staticmethod
    def resolve_depot_id(shelter: Shelter) -> int | None:
        return getattr(shelter, "depot_id", None)


class ShelterDetail(ShelterOut):
    """What staff see: contact details and who last changed the status."""

    email: str
    notes: str
    status_changed_by: str | None

    @staticmethod
    def resolve_status_changed_by(shelter: Shelter) -> str | None:
        user = shelter.status_changed_by
        return user.get_username() if user else None


class ShelterCorrection(Schema):
    """Master data. Every field is optional; what is sent is corrected. Anything else (such
    as `status`, which has its own endpoint) is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    kana: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    address: str | None = Field(None, min_length=1, max_length=300)
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    is_shelter: bool | None = None
    is_evacuation_site: bool | None = None
    hazards: list[Hazard] | None = Field(None, max_length=8)
    accessible_toilet: bool | None = None
    generator: bool | None = None
    welfare_space: bool | None = None
    pets_allowed: bool | None = None
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=254)
    capacity: People | None = None
    capacity_day: People | None = None
    target_people: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=2000)

    def changes(self, current: Shelter) -> dict:
        data = self.model_dump(exclude_unset=True)
        lat, lon = data.pop("latitude", None), data.pop("longitude", None)
        if lat is not None or lon is not None:
            data["point"] = Point(
                lon if lon is not None else current.point.x,
                lat if lat is not None else current.point.y,
                srid=4326,
            )
        if data.get("hazards") is not None:
            data["hazards"] = [h.value for h in Hazard if h in data["hazards"]]
        return {name: value for name, value in data.items() if value is not None}


class StatusIn(Schema):
    status: Shelter.Status
    note: str = Field("", max_length=500)


class HeadCountIn(Schema):
    total: People
    elderly: People = 0
    infants: People = 0
    pregnant: People = 0
    disabled: People = 0
    medical_care: People = 0
    language_support: People = 0
    pets: People = 0
    note: str = Field("", max_length=500)


class HeadCountFilter(FilterSchema):
    since: Annotated[Moment | None, FilterLookup("at__gte")] = None
    until: Annotated[Moment | None, FilterLookup("at__lt")] = None


class HeadCountOut(Schema):
    id: int
    shelter_id: int
    at: dt.datetime
    total: int
    elderly: int
    infants: int
    pregnant: int
    disabled: int
    medical_care: int
    language_support: int
    pets: int
    note: str
    by: str | None
    percent_of_capacity: float | None

    @staticmethod
    def resolve_by(count: HeadCount) -> str | None:
        return count.by.get_username() if count.by else None

    @staticmethod
    def resolve_percent_of_capacity(count: HeadCount) -> float | None:
        return percent_of_capacity(count.total, count.shelter.capacity)
