"""Request and response shapes of the shelters API."""

import datetime as dt
from typing import Annotated, Literal

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema
from pydantic import ConfigDict

from disaster.core.auth import user_for_request_token
from disaster.core.schemas import Moment, enum_named
from shelters.models import Hazard, HeadCount, Shelter
from shelters.public import BAND_LABELS, occupancy_band
from shelters.services import is_current, percent_of_capacity

Latitude = Annotated[float, Field(ge=20, le=46, description="緯度（日本国内）")]
Longitude = Annotated[float, Field(ge=122, le=154, description="経度（日本国内）")]
People = Annotated[int, Field(ge=0, le=HeadCount.MAX_PEOPLE)]
ShelterStatus = Annotated[Shelter.Status, enum_named(Shelter.Status, "ShelterStatus")]


class ShelterFilter(FilterSchema):
    """The filter of the shelter list, its exports and the pages that show them."""

    q: str | None = Field(None, max_length=100, description="名称・カナ・住所の一部")
    status: Annotated[list[ShelterStatus] | None, FilterLookup("status__in")] = None
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


def _signed_in(context: dict | None) -> bool:
    """Whether the request asking may see head-counts: staff and shelter managers, by
    session or token. The list is public, and residents get the band only (as on the
    public map): a head-count of a small shelter says who is there. Everyone, where the city
    publishes exact counts (PUBLISH_HEADCOUNTS), as its status file then does."""
    request = (context or {}).get("request")
    if request is None or settings.PUBLISH_HEADCOUNTS:
        return True  # not an API answer (a page or a job), or the city publishes counts
    if getattr(request, "auth", None) or request.user.is_authenticated:
        return True
    header = request.headers.get("Authorization", "")
    return header.lower().startswith("bearer ") and bool(
        user_for_request_token(request, header[7:].strip())
    )


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
    status: ShelterStatus
    status_label: str
    status_changed_at: dt.datetime
    occupancy: int | None = Field(
        description="最新の避難者数（ログインした職員と避難所運営者のみ。その他には null: "
        "住民には band だけを示す）"
    )
    occupancy_at: dt.datetime | None
    percent_of_capacity: float | None = Field(description="同上（ログインした利用者のみ）")
    band: Literal["free", "crowded", "full"] = Field(
        description="公開地図と同じ混雑の帯: 空き free / 混雑 crowded / 満員 full"
    )
    band_label: str
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
    def resolve_occupancy(shelter: Shelter, context: dict) -> int | None:
        return getattr(shelter, "occupancy", 0) if _signed_in(context) else None

    @staticmethod
    def resolve_occupancy_at(shelter: Shelter, context: dict) -> dt.datetime | None:
        return getattr(shelter, "occupancy_at", None) if _signed_in(context) else None

    @staticmethod
    def resolve_percent_of_capacity(shelter: Shelter, context: dict) -> float | None:
        if not _signed_in(context):
            return None
        return percent_of_capacity(getattr(shelter, "occupancy", 0), shelter.capacity)

    @staticmethod
    def resolve_band(shelter: Shelter) -> str:
        return occupancy_band(shelter.status, getattr(shelter, "occupancy", 0), shelter.capacity)

    @staticmethod
    def resolve_band_label(shelter: Shelter) -> str:
        band = occupancy_band(shelter.status, getattr(shelter, "occupancy", 0), shelter.capacity)
        return str(BAND_LABELS[band])

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
    status: ShelterStatus
    note: str = Field("", max_length=500)


class HeadCountIn(Schema):
    """A head-count. Only `total` is required: a figure left out (or null) keeps its value
    in the count observed last before this one, so updating the total never erases the
    needs. To set a figure to zero, send 0."""

    total: People
    households: People | None = Field(
        None, description="世帯数（わかるとき）。省略すると前回の値のまま（未記録なら空）。"
    )
    elderly: People | None = None
    infants: People | None = None
    pregnant: People | None = None
    disabled: People | None = None
    care_needed: People | None = None
    medical_care: People | None = None
    language_support: People | None = None
    women: People | None = None
    pets: People | None = None
    supported_at_home: People | None = Field(None, description="在宅避難者（避難者数に含まない）")
    supported_in_cars: People | None = Field(None, description="車中泊（避難者数に含まない）")
    observed_at: Moment | None = Field(
        None,
        description="数えた日時（端末の時計、入力した時点）。省略すると受け付けた時刻。"
        "未来、開設前、古すぎる日時は 422。",
    )
    note: str = Field("", max_length=500)


class HeadCountFilter(FilterSchema):
    """A period of observation times."""

    since: Annotated[Moment | None, FilterLookup("observed_at__gte")] = None
    until: Annotated[Moment | None, FilterLookup("observed_at__lt")] = None


class HeadCountOut(Schema):
    id: int
    shelter_id: int
    at: dt.datetime = Field(description="記録された日時")
    observed_at: dt.datetime = Field(description="数えた日時")
    total: int
    households: int | None = Field(description="世帯数（記録がなければ null）")
    elderly: int
    infants: int
    pregnant: int
    disabled: int
    care_needed: int
    medical_care: int
    language_support: int
    women: int
    pets: int
    supported_at_home: int
    supported_in_cars: int
    care_needs: int = Field(description="要配慮者（内訳の合計）")
    is_current: bool = Field(description="この避難所の現在の人数（最後に数えたもの）か")
    note: str
    by: str | None
    percent_of_capacity: float | None

    @staticmethod
    def resolve_by(count: HeadCount) -> str | None:
        return count.by.get_username() if count.by else None

    @staticmethod
    def resolve_is_current(count: HeadCount) -> bool:
        current = getattr(count, "current_id", None)
        return current == count.pk if current is not None else is_current(count)

    @staticmethod
    def resolve_percent_of_capacity(count: HeadCount) -> float | None:
        return percent_of_capacity(count.total, count.shelter.capacity)
