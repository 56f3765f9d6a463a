"""The shelters API: the public list and map data, status, head-counts, master data."""

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import F
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from disaster.auth import SIGNED_IN, STAFF
from disaster.errors import Invalid
from disaster.roles import check_shelter_write
from disaster.schemas import Id, Paginated
from shelters import services
from shelters.models import HeadCount, Shelter
from shelters.schemas import (
    HeadCountIn,
    HeadCountOut,
    Latitude,
    Longitude,
    ShelterCorrection,
    ShelterDetail,
    ShelterFilter,
    ShelterOut,
    StatusIn,
)

router = Router(tags=["shelters"])


class Near(Schema):
    near_lat: Latitude | None = None
    near_lon: Longitude | None = None


def shelters_for(filters: ShelterFilter, near: Near | None = None):
    """The shelters a filter selects, with occupancy; nearest first when `near` is given."""
    shelters = filters.filter(Shelter.objects.with_occupancy().annotate(depot_id=F("depot__id")))
    if near is None or (near.near_lat is None and near.near_lon is None):
        return shelters.order_by("name", "pk")
    if near.near_lat is None or near.near_lon is None:
        raise Invalid(fields={"near_lat": "near_lat と near_lon は両方指定してください。"})
    here = Point(near.near_lon, near.near_lat, srid=4326)
    return shelters.annotate(distance=Distance("point", here)).order_by("distance", "pk")


def _shelter(shelter_id: int) -> Shelter:
    return (
        Shelter.objects.with_occupancy()
        .annotate(depot_id=F("depot__id"))
        .select_related("status_changed_by")
        .get(pk=shelter_id)
    )


@router.get("/shelters", response=list[ShelterOut], auth=None)
@paginate(Paginated)
def list_shelters(
    request: HttpRequest, filters: ShelterFilter = Query(...), near: Near = Query(...)
):
    """Designated shelters and evacuation sites, with status and occupancy. Public: this is
    what residents see. `near_lat`/`near_lon` order them nearest first."""
    return shelters_for(filters, near)


@router.get("/shelters/{shelter_id}", response=ShelterOut, auth=None)
def get_shelter(request: HttpRequest, shelter_id: Id):
    return _shelter(shelter_id)


@router.get("/shelters/{shelter_id}/detail", response=ShelterDetail, auth=SIGNED_IN)
def get_shelter_detail(request: HttpRequest, shelter_id: Id):
    """Everything about a shelter, with who last changed its status (staff and its managers)."""
    shelter = _shelter(shelter_id)
    check_shelter_write(request.auth, shelter.pk)
    return shelter


@router.patch("/shelters/{shelter_id}", response=ShelterDetail, auth=STAFF)
def correct_shelter(request: HttpRequest, shelter_id: Id, payload: ShelterCorrection):
    """Correct master data (address, phone, capacity…). Never changes or announces status."""
    shelter = Shelter.objects.get(pk=shelter_id)
    services.correct_shelter(shelter.pk, by=request.auth, **payload.changes(shelter))
    return _shelter(shelter.pk)


@router.post("/shelters/{shelter_id}/status", response=ShelterDetail, auth=SIGNED_IN)
def change_status(request: HttpRequest, shelter_id: Id, payload: StatusIn):
    """Open, fill up, close… the shelter (its managers and staff)."""
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    services.change_status(shelter_id, status=payload.status, by=request.auth, note=payload.note)
    return _shelter(shelter_id)


@router.get("/shelters/{shelter_id}/headcounts", response=list[HeadCountOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_headcounts(request: HttpRequest, shelter_id: Id):
    """Head-count history, newest first: the first is the current occupancy."""
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    return HeadCount.objects.filter(shelter_id=shelter_id).select_related("shelter", "by")


@router.post("/shelters/{shelter_id}/headcounts", response={201: HeadCountOut}, auth=SIGNED_IN)
def record_headcount(request: HttpRequest, shelter_id: Id, payload: HeadCountIn):
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    count = services.record_headcount(shelter_id, by=request.auth, **payload.model_dump())
    return 201, count
