"""The shelters API: the public list and map data, status, head-counts, master data."""

import datetime as dt
import json
from dataclasses import asdict

from django.contrib.gis.geos import Point
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from disaster.core.auth import ADMINISTRATORS, SIGNED_IN, STAFF, AuthedRequest
from disaster.core.errors import Invalid
from disaster.core.schemas import Id, Paginated
from shelters import opendata, services
from shelters.access import check_shelter_write
from shelters.models import HeadCount, Shelter
from shelters.opendata import feed
from shelters.schemas import (
    HeadCountFilter,
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
        raise Invalid(fields={"near_lat": _("near_lat と near_lon は両方指定してください。")})
    here = Point(near.near_lon, near.near_lat, srid=4326)
    return shelters.nearest(here)


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


# Open data: the official shelter lists in and out. Declared before "/shelters/{shelter_id}",
# which would otherwise take "export.csv" or "import" for a shelter id.


class ImportChangeOut(Schema):
    line: int = Field(description="ファイルの行（GeoJSON では何番目の地物か）")
    action: str = Field(description="created / updated")
    shelter_id: int | None = Field(description="試行（dry_run）で新規になるものは null")
    name: str
    fields: list[str] = Field(description="変わる項目（updated のとき）")


class ImportOut(Schema):
    format: str
    format_label: str
    dry_run: bool
    created: int
    updated: int
    unchanged: int
    changes: list[ImportChangeOut]


def _download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/shelters/export.csv", auth=None)
def export_shelters_csv(request: HttpRequest, filters: ShelterFilter = Query(...)):
    """The shelters the filter selects, as デジタル庁 推奨データセット 指定緊急避難場所一覧 CSV
    (UTF-8 with BOM, CRLF). Public: this is the city's open data."""
    body = opendata.export_csv(shelters_for(filters))
    return _download(body, "text/csv; charset=utf-8", opendata.export_filename("csv"))


@router.get("/shelters/export.geojson", auth=None)
def export_shelters_geojson(request: HttpRequest, filters: ShelterFilter = Query(...)):
    """The same rows as a GeoJSON FeatureCollection, properties named as in the CSV."""
    collection = opendata.export_geojson(shelters_for(filters))
    body = json.dumps(collection, ensure_ascii=False).encode()
    return _download(body, "application/geo+json", opendata.export_filename("geojson"))


@router.get("/shelters/status.csv", auth=None)
def shelter_status_csv(request: HttpRequest):
    """Every shelter's status now, as open data: the 推奨データセット columns, then 開設状況,
    混雑 (the public map's band), 人数・世帯数 (only with PUBLISH_HEADCOUNTS) and 時点. CSV,
    UTF-8 with BOM. Public."""
    return _download(feed.feed_csv(), "text/csv; charset=utf-8", feed.feed_filename("csv"))


@router.get("/shelters/status.geojson", auth=None)
def shelter_status_geojson(request: HttpRequest):
    """The same rows as GeoJSON, properties in the same order. Public."""
    body = json.dumps(feed.feed_geojson(), ensure_ascii=False).encode()
    return _download(body, "application/geo+json", feed.feed_filename("geojson"))


EARLIEST_YEAR = 2000  # no record here is older


class AsOf(Schema):
    at: dt.datetime = Field(
        description="時点（ISO 8601。時差のない時刻は日本時間）: その時点に公開された内容"
    )

    def moment(self) -> dt.datetime:
        if self.at.year < EARLIEST_YEAR:  # also keeps year 1 from overflowing in time zones
            raise Invalid(
                fields={"at": _("%(year)d 年以降を指定してください。") % {"year": EARLIEST_YEAR}}
            )
        at = self.at if timezone.is_aware(self.at) else timezone.make_aware(self.at)
        if at > timezone.now():
            raise Invalid(fields={"at": _("未来の時点は指定できません。")})
        return at


@router.get("/shelters/status/history.csv", auth=None)
def shelter_status_history_csv(request: HttpRequest, when: AsOf = Query(...)):
    """The status file as it was at `at`: the status after the last change made by then,
    the head-count observed last among those recorded by then. Public."""
    at = when.moment()
    return _download(feed.feed_csv(at), "text/csv; charset=utf-8", feed.feed_filename("csv", at))


@router.get("/shelters/status/history.geojson", auth=None)
def shelter_status_history_geojson(request: HttpRequest, when: AsOf = Query(...)):
    """The same as GeoJSON. Public."""
    at = when.moment()
    body = json.dumps(feed.feed_geojson(at), ensure_ascii=False).encode()
    return _download(body, "application/geo+json", feed.feed_filename("geojson", at))


@router.post("/shelters/import", response=ImportOut, auth=ADMINISTRATORS)
def import_shelters(
    request: AuthedRequest, file: UploadedFile = File(...), dry_run: bool = Form(False)
):
    """Import GSI (国土地理院) or 推奨データセット shelter data: CSV (UTF-8 or Shift_JIS) or
    GeoJSON, the format found from the header. All or nothing: a bad row anywhere answers 422
    with every bad row in `rows` ({line, field, message}) and imports nothing. `dry_run` says
    what would change and writes nothing (a form field, or `?dry_run=true`). Never changes a
    shelter's status."""
    if file.size is not None and file.size > opendata.MAX_UPLOAD_BYTES:
        raise opendata.FileTooLarge(
            _("ファイルが大きすぎます（%(mb)d MB まで）。")
            % {"mb": opendata.MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    # Sent in the query instead of the form, the flag must still hold: a "trial" that imports
    # for real would be the worst way to misread it.
    dry_run = dry_run or request.GET.get("dry_run", "").lower() in {"1", "true", "on", "yes"}
    result = opendata.import_file(file, by=request.auth, dry_run=dry_run)
    return {
        "format": result.format,
        "format_label": result.format_label,
        "dry_run": result.dry_run,
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": result.unchanged,
        "changes": [asdict(change) for change in result.changes],
    }


@router.get("/shelters/{shelter_id}", response=ShelterOut, auth=None)
def get_shelter(request: HttpRequest, shelter_id: Id):
    return _shelter(shelter_id)


@router.get("/shelters/{shelter_id}/detail", response=ShelterDetail, auth=SIGNED_IN)
def get_shelter_detail(request: AuthedRequest, shelter_id: Id):
    """Everything about a shelter, with who last changed its status (staff and its managers)."""
    shelter = _shelter(shelter_id)
    check_shelter_write(request.auth, shelter.pk)
    return shelter


@router.patch("/shelters/{shelter_id}", response=ShelterDetail, auth=STAFF)
def correct_shelter(request: AuthedRequest, shelter_id: Id, payload: ShelterCorrection):
    """Correct master data (address, phone, capacity…). Never changes or announces status."""
    shelter = Shelter.objects.get(pk=shelter_id)
    services.correct_shelter(shelter.pk, by=request.auth, **payload.changes(shelter))
    return _shelter(shelter.pk)


@router.post("/shelters/{shelter_id}/status", response=ShelterDetail, auth=SIGNED_IN)
def change_status(request: AuthedRequest, shelter_id: Id, payload: StatusIn):
    """Open, fill up, close… the shelter (its managers and staff)."""
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    services.change_status(shelter_id, status=payload.status, by=request.auth, note=payload.note)
    return _shelter(shelter_id)


@router.get("/shelters/{shelter_id}/headcounts", response=list[HeadCountOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_headcounts(request: AuthedRequest, shelter_id: Id, filters: HeadCountFilter = Query(...)):
    """Head-count history by observation time, last observed first: the first is the
    current occupancy. `since` and `until` limit it to a period of observation."""
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    counts = (
        HeadCount.objects.filter(shelter_id=shelter_id)
        .with_current()
        .select_related("shelter", "by")
    )
    return filters.filter(counts)


@router.post("/shelters/{shelter_id}/headcounts", response={201: HeadCountOut}, auth=SIGNED_IN)
def record_headcount(request: AuthedRequest, shelter_id: Id, payload: HeadCountIn):
    """Record a head-count observed at `observed_at`. Figures left out keep their last
    value (see the request schema); `is_current` in the answer says whether it is now the
    shelter's occupancy (a paper record of an earlier time is history at once)."""
    check_shelter_write(request.auth, Shelter.objects.get(pk=shelter_id).pk)
    count = services.record_headcount(shelter_id, by=request.auth, **payload.model_dump())
    counts = HeadCount.objects.with_current().select_related("shelter", "by")
    return Status(201, counts.get(pk=count.pk))
