"""Damage reports API: residents post them (no login, rate-limited); staff list, triage,
merge and see who reported; shelter managers see reports without personal data.

The reporter's contact and the photo as it was sent (with its GPS position) are for
operations staff only; everyone else gets the stripped copy.
"""

import datetime as dt
from collections.abc import Set as AbstractSet
from typing import Annotated

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from disaster.core.auth import SIGNED_IN, STAFF, AuthedRequest
from disaster.core.clients import client_key, request_client
from disaster.core.errors import Invalid, NotFound
from disaster.core.filters import parse_bbox, refuse_unknown_filters
from disaster.core.idempotency import kept_about
from disaster.core.limits import ClientLimit
from disaster.core.roles import is_staff_role
from disaster.core.schemas import Id, Moment, Paginated, enum_named
from disaster.reports import services as reports
from disaster.reports.models import DamageReport, ReportPhoto
from disaster.reports.photos import check_photo

router = Router(tags=["damage reports"])

Category = Annotated[DamageReport.Category, enum_named(DamageReport.Category, "ReportCategory")]
Severity = Annotated[int, Field(ge=1, le=5)]
ReportStatus = Annotated[DamageReport.Status, enum_named(DamageReport.Status, "ReportStatus")]


class PhotoOut(Schema):
    id: int
    url: str
    original_url: str | None
    width: int
    height: int


class SourceOut(Schema):
    """One of the reports a merged report stands for (never its contact)."""

    id: int
    source: str
    created_at: dt.datetime
    description: str = Field("", description="その報告の説明（統合されても残ります）")
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None


class ReportOut(Schema):
    id: int
    category: str
    category_label: str
    severity: int
    status: str
    status_label: str
    latitude: float
    longitude: float
    address: str
    description: str
    source: str
    reporters: int
    merged_into: int | None
    team: str
    incident_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    reporter_contact: str | None = Field(None, description="運用職員のみ")
    photos: list[PhotoOut]
    sources: list[SourceOut] = Field(description="この報告と統合された報告（通報の経路）")


class HistoryOut(Schema):
    at: dt.datetime
    by: str
    action: str
    from_status: str
    to_status: str
    note: str


class ReportIn(Schema):
    latitude: float
    longitude: float
    category: Category
    severity: int = Field(..., ge=1, le=5)
    description: str = Field("", max_length=2000)
    address: str = Field("", max_length=300)
    contact: str = Field("", max_length=200)
    incident_id: Id | None = None


class AssignIn(Schema):
    team: str = Field(..., min_length=1, max_length=100)


class MergeIn(Schema):
    into: Id


class Received(Schema):
    id: int
    message: str


def _source(report: DamageReport) -> dict:
    """One report a merged report stands for, with its own words and place (never its
    contact): merging keeps what each reporter said."""
    return {
        "id": report.pk,
        "source": report.source,
        "created_at": report.created_at,
        "description": report.description,
        "address": report.address,
        "latitude": report.point.y,
        "longitude": report.point.x,
    }


def _out(request: AuthedRequest, report: DamageReport) -> dict:
    staff = is_staff_role(request.auth)
    if staff and report.reporter_contact:
        kept_about(request, f"report:{report.pk}")  # a kept answer forgets the contact
    base = f"/api/v1/reports/{report.pk}/photos"
    return {
        **{f: getattr(report, f) for f in ReportOut.model_fields if hasattr(report, f)},
        "category_label": report.get_category_display(),
        "status_label": report.get_status_display(),
        "latitude": report.point.y,
        "longitude": report.point.x,
        "merged_into": report.merged_into_id,
        "reporter_contact": report.reporter_contact if staff else None,
        "sources": [
            _source(s)
            for s in DamageReport.objects.sources(report).only(
                "id", "source", "created_at", "description", "address", "point"
            )
        ]
        if report.reporters > 1
        else [_source(report)],
        "photos": [
            {
                "id": p.pk,
                "url": f"{base}/{p.pk}",
                "original_url": f"{base}/{p.pk}/original" if staff and p.original else None,
                "width": p.width,
                "height": p.height,
            }
            for p in report.photos.all()
        ],
    }


class ReportFilters(Schema):
    """The report filters of the list, the map layer and the vector tiles."""

    category: list[Category] | None = None
    severity: list[Severity] | None = None
    severity_min: int | None = Field(default=None, ge=1, le=5, description="深刻度がこれ以上")
    status: list[ReportStatus] | None = None
    since: Moment | None = Field(default=None, description="受付日時がこれ以降")
    until: Moment | None = Field(default=None, description="受付日時がこれより前")

    def names(self) -> set[str]:
        return set(type(self).model_fields)


def filtered_reports(
    request: HttpRequest,
    filters: ReportFilters,
    *,
    bbox: str | None = None,
    extra: AbstractSet[str] = frozenset(),
    **more,
):
    """The reports the query's filters select; an unknown filter or a bad bbox is a 422.
    `extra` names the endpoint's own parameters besides the filters and the bbox."""
    refuse_unknown_filters(request, filters.names() | {"bbox"} | extra)
    return DamageReport.objects.matching(
        bbox=parse_bbox(bbox) if bbox else None, **filters.model_dump(), **more
    )


@router.get("/reports", response=list[ReportOut], auth=SIGNED_IN)
@paginate(Paginated)
def list_reports(
    request: AuthedRequest,
    filters: Query[ReportFilters],
    bbox: str | None = Query(None, max_length=200, description="西,南,東,北"),
):
    """Reports, newest first, filtered by category, severity (exact or at least), status,
    time received and bbox (west,south,east,north). An unknown filter is a 422."""
    found = filtered_reports(request, filters, bbox=bbox, extra={"limit", "offset"})
    return [_out(request, r) for r in found.prefetch_related("photos")]


@router.post("/reports", response={201: ReportOut}, auth=STAFF)
def create_report(request: AuthedRequest, payload: ReportIn):
    """A report taken by staff (by phone, radio, on site)."""
    report = reports.create_report(
        reports.NewReport(**payload.dict()), source=DamageReport.Source.STAFF, by=request.auth
    )
    return Status(201, _out(request, report))


def _report(report_id: int) -> DamageReport:
    report = DamageReport.objects.prefetch_related("photos").filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("被害報告 %(id)s はありません。") % {"id": report_id})
    return report


@router.get("/reports/{report_id}", response=ReportOut, auth=SIGNED_IN)
def get_report(request: AuthedRequest, report_id: Id):
    return _out(request, _report(report_id))


@router.get("/reports/{report_id}/history", response=list[HistoryOut], auth=STAFF)
def history(request: HttpRequest, report_id: Id):
    return [
        {
            "at": change.at,
            "by": change.by_name,
            "action": change.action,
            "from_status": change.from_status,
            "to_status": change.to_status,
            "note": change.note,
        }
        for change in _report(report_id).history.all()
    ]


@router.get("/reports/{report_id}/duplicates", response=list[ReportOut], auth=STAFF)
def duplicates(request: AuthedRequest, report_id: Id):
    """Open reports of the same category nearby and close in time: candidates to merge."""
    return [_out(request, r) for r in reports.duplicates_of(_report(report_id))]


@router.post("/reports/{report_id}/verify", response=ReportOut, auth=STAFF)
def verify(request: AuthedRequest, report_id: Id):
    """new → verified (409 from any other state)."""
    return _out(request, _report(reports.verify(request.auth, report_id).pk))


@router.post("/reports/{report_id}/assign", response=ReportOut, auth=STAFF)
def assign(request: AuthedRequest, report_id: Id, payload: AssignIn):
    """Hand the report to a team: new, verified or assigned → assigned."""
    return _out(request, _report(reports.assign(request.auth, report_id, payload.team).pk))


@router.post("/reports/{report_id}/resolve", response=ReportOut, auth=STAFF)
def resolve(request: AuthedRequest, report_id: Id):
    """Any open state → resolved."""
    return _out(request, _report(reports.resolve(request.auth, report_id).pk))


@router.post("/reports/{report_id}/reject", response=ReportOut, auth=STAFF)
def reject(request: AuthedRequest, report_id: Id):
    """Any open state → rejected."""
    return _out(request, _report(reports.reject(request.auth, report_id).pk))


@router.post("/reports/{report_id}/merge", response=ReportOut, auth=STAFF)
def merge(request: AuthedRequest, report_id: Id, payload: MergeIn):
    """Merge this report into `into`; answers with the report that remains."""
    target = reports.merge(request.auth, report_id, payload.into)
    return _out(request, _report(target.pk))


@router.post("/reports/{report_id}/photos", response={201: PhotoOut}, auth=STAFF)
def add_photo(request: AuthedRequest, report_id: Id, photo: File[UploadedFile]):
    added = reports.add_photo(_report(report_id).pk, check_photo(photo), by=request.auth)
    photos = _out(request, _report(report_id))["photos"]
    return Status(201, next(p for p in photos if p["id"] == added.pk))


def _photo(report_id: int, photo_id: int) -> ReportPhoto:
    photo = ReportPhoto.objects.filter(pk=photo_id, report_id=report_id).first()
    if photo is None:
        raise NotFound()
    return photo


@router.get("/reports/{report_id}/photos/{photo_id}", auth=SIGNED_IN, response={200: None})
def photo_file(request: HttpRequest, report_id: Id, photo_id: Id):
    """The photo with its metadata (and GPS position) stripped."""
    photo = _photo(report_id, photo_id)
    return FileResponse(photo.public.open("rb"), content_type=photo.content_type)


@router.get("/reports/{report_id}/photos/{photo_id}/original", auth=STAFF, response={200: None})
def original_photo_file(request: HttpRequest, report_id: Id, photo_id: Id):
    """The photo as it was sent, EXIF included (operations staff only), until its sender
    asked for their data to be deleted."""
    photo = _photo(report_id, photo_id)
    if not photo.original:
        raise NotFound(_("元の写真は、送った人の求めで削除されました。"))
    return FileResponse(photo.original.open("rb"), content_type=photo.content_type)


@router.post(
    "/public/reports",
    response={201: Received},
    auth=None,
    tags=["public"],
    throttle=ClientLimit("POST", "/api/v1/public/reports", reports.rate_wait),
)
def submit_report(
    request: HttpRequest,
    latitude: Form[float],
    longitude: Form[float],
    category: Form[Category],
    severity: Form[int],
    description: Form[str] = "",
    address: Form[str] = "",
    contact: Form[str] = "",
    photo: UploadedFile | None = File(None),
):
    """A resident's report from the web form (multipart). At most REPORT_PUBLIC_PER_HOUR
    per sender per hour (429 with Retry-After), checked before the photo is read.
    Answers with the report number only."""
    errors = {}
    if len(description) > 2000:
        errors["description"] = _("2000 文字までです。")
    if len(address) > 300:
        errors["address"] = _("300 文字までです。")
    if len(contact) > 200:
        errors["contact"] = _("200 文字までです。")
    if errors:
        raise Invalid(fields=errors)
    client = client_key(request_client(request))
    reports.count_attempt(client)
    checked = check_photo(photo) if photo is not None else None
    report = reports.create_report(
        reports.NewReport(
            latitude=latitude,
            longitude=longitude,
            category=category,
            severity=severity,
            description=description,
            address=address,
            contact=contact,
        ),
        source=DamageReport.Source.WEB,
        photo=checked,
        client=client,
    )
    return Status(
        201,
        {"id": report.pk, "message": _("受け付けました。受付番号 %(id)s") % {"id": report.pk}},
    )
