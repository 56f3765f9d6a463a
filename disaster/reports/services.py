"""Damage reports: what staff and residents do with them.

Every change is one transaction: the report, its history line, the audit entry and the
event to the operations room. Events carry no reporter contact (DESIGN decision 9).

Workflow: new → verified → assigned (to a team) → resolved; or duplicate (merged into
another report) or rejected, from any open state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from disaster.core import audit, ratelimit
from disaster.core.errors import Conflict, Invalid, NotFound, RateLimited
from disaster.core.events import publish
from disaster.core.models import Incident, User
from disaster.reports.models import DamageReport, ReportChange, ReportPhoto
from disaster.reports.photos import attach_photo

Status = DamageReport.Status

# What each action may start from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "verify": ((Status.NEW,), Status.VERIFIED),
    "assign": ((Status.NEW, Status.VERIFIED, Status.ASSIGNED), Status.ASSIGNED),
    "resolve": (DamageReport.OPEN_STATUSES, Status.RESOLVED),
    "reject": (DamageReport.OPEN_STATUSES, Status.REJECTED),
}


@dataclass
class NewReport:
    latitude: float
    longitude: float
    category: str
    severity: int
    description: str = ""
    address: str = ""
    contact: str = ""
    incident_id: int | None = None


def city_contains(point: Point) -> bool:
    """Inside the municipality's boundary (or its configured box when none is loaded)."""
    from disaster.core.geography import CityBoundary

    boundary = CityBoundary.objects.filter(code=settings.CITY_CODE).first()
    if boundary is not None:
        return boundary.area.intersects(point)
    west, south, east, north = settings.CITY_BBOX
    return Polygon.from_bbox((west, south, east, north)).intersects(point)


def _place(latitude: float, longitude: float) -> Point:
    wrong = {}
    if not -90 <= latitude <= 90:  # NaN fails every comparison too
        wrong["latitude"] = _("緯度は -90〜90 です。")
    if not -180 <= longitude <= 180:
        wrong["longitude"] = _("経度は -180〜180 です。")
    if wrong:
        raise Invalid(_("緯度・経度が正しくありません。"), fields=wrong)
    point = Point(longitude, latitude, srid=4326)
    if not city_contains(point):
        raise Invalid(
            _("その場所は%(city)sの外です。市内の場所を選んでください。")
            % {"city": settings.CITY_NAME},
            fields={"latitude": _("%(city)sの外です。") % {"city": settings.CITY_NAME}},
        )
    return point


def event(report: DamageReport) -> dict[str, Any]:
    """What the operations room's map needs; never the reporter's contact."""
    return {
        "id": report.pk,
        "category": report.category,
        "severity": report.severity,
        "status": report.status,
        "latitude": report.point.y,
        "longitude": report.point.x,
        "reporters": report.reporters,
        "merged_into": report.merged_into_id,
        "source": report.source,
        "team": report.team,
        "created_at": report.created_at.isoformat(),
    }


def sole_active_incident_id() -> int | None:
    """The incident a report without one belongs to: the only real incident in progress
    (started, not ended, not closed; a drill never takes in real reports). With none or
    several, no guess: staff decide."""
    now = timezone.now()
    active = list(
        Incident.objects.filter(started_at__lte=now, is_drill=False)
        .exclude(phase=Incident.Phase.CLOSED)
        .exclude(ended_at__lte=now)
        .values_list("pk", flat=True)[:2]
    )
    return active[0] if len(active) == 1 else None


def _history(
    report: DamageReport, by: User | None, action: str, before: str, note: str = ""
) -> None:
    known = by if by is not None and by.is_authenticated else None
    ReportChange.objects.create(
        report=report,
        by=known,
        by_name=known.get_username() if known is not None else "",
        action=action,
        from_status=before,
        to_status=report.status,
        note=note[:300],
    )


@transaction.atomic
def create_report(
    new: NewReport,
    *,
    source: str,
    by: User | None = None,
    photo: tuple[bytes, Image.Image] | None = None,
    client: str = "",
) -> DamageReport:
    """Record a report (and its photo, already checked). 422 outside the city. A public
    sender's `client` key is rate-limited. Without an incident, the report joins the one
    incident in progress, if there is exactly one (`sole_active_incident_id`)."""
    if client:
        check_rate(client)
    errors = {}
    if new.category not in DamageReport.Category.values:
        errors["category"] = _("種類が正しくありません。")
    if not 1 <= new.severity <= 5:
        errors["severity"] = _("深刻度は 1〜5 です。")
    if new.incident_id is not None and not Incident.objects.filter(pk=new.incident_id).exists():
        errors["incident_id"] = _("その災害はありません。")
    if errors:
        raise Invalid(fields=errors)
    report = DamageReport.objects.create(
        point=_place(new.latitude, new.longitude),
        address=new.address,
        category=new.category,
        severity=new.severity,
        description=new.description,
        source=source,
        reporter_contact=new.contact,
        reported_by=by if getattr(by, "is_authenticated", False) else None,
        incident_id=new.incident_id or sole_active_incident_id(),
        client_key=client,
    )
    if photo is not None:
        attach_photo(report, *photo)
    _history(report, by, "create", "")
    audit.record(by, "report.create", report, after={"category": report.category})
    publish("report.created", event(report))
    return report


def client_key(address: str) -> str:
    """A keyed hash of a sender's address: enough to count their reports, not to find them."""
    return ratelimit.keyed_hash(address)


def _created_wait(key: str) -> int | None:
    """Seconds until the sender may post another report: REPORT_PUBLIC_PER_HOUR made."""
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    recent = DamageReport.objects.filter(client_key=key, created_at__gte=hour_ago)
    if recent.count() < settings.REPORT_PUBLIC_PER_HOUR:
        return None
    # None only with a limit of 0, when nobody gets through for the next hour.
    oldest = (
        recent.order_by("created_at").values_list("created_at", flat=True).first() or timezone.now()
    )
    return max(1, int((oldest + dt.timedelta(hours=1) - timezone.now()).total_seconds()))


def rate_wait(key: str) -> int | None:
    """Seconds a sender must wait before its next public report, None while it may send:
    at most REPORT_PUBLIC_PER_HOUR reports and REPORT_PUBLIC_ATTEMPTS_PER_HOUR attempts an
    hour (a refused photo is no report, but it was work: a flood of broken ones is limited
    too). Cheap enough to ask before a photo is read."""
    attempts = ratelimit.wait_after(
        f"report-attempt:{key}", 3600, settings.REPORT_PUBLIC_ATTEMPTS_PER_HOUR
    )
    created = _created_wait(key)
    return max((w for w in (attempts, created) if w is not None), default=None)


def count_attempt(key: str) -> None:
    """One more public report attempt by this sender (see `rate_wait`)."""
    ratelimit.hit(f"report-attempt:{key}", 3600)


def check_rate(key: str) -> None:
    """The reports limit, counted under a per-sender lock so that a burst of parallel posts
    cannot slip past; 429 with Retry-After beyond it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
    wait = _created_wait(key)
    if wait is not None:
        raise RateLimited(retry_after=wait)


def _locked(report_id: int) -> DamageReport:
    report = DamageReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("被害報告 %(id)s はありません。") % {"id": report_id})
    return report


@transaction.atomic
def triage(
    by: User, report_id: int, action: str, *, team: str = "", note: str = ""
) -> DamageReport:
    """verify / assign (to a team) / resolve / reject; 409 when the state does not allow it."""
    starts, goal = TRANSITIONS[action]
    report = _locked(report_id)
    if report.status not in starts:
        raise Conflict(
            _("「%(status)s」の報告にはこの操作はできません。")
            % {"status": report.get_status_display()},
            report_status=report.status,
        )
    if action == "assign" and not team.strip():
        raise Invalid(fields={"team": _("担当班を入力してください。")})
    before = report.status
    report.status = goal
    if action == "assign":
        report.team = team.strip()
    report.updated_at = timezone.now()
    report.save(update_fields=["status", "team", "updated_at"])
    _history(report, by, action, before, team or note)
    audit.record(by, f"report.{action}", report, before={"status": before}, after={"status": goal})
    publish("report.updated", event(report))
    return report


def verify(by: User, report_id: int) -> DamageReport:
    """Someone confirmed the report is real: new → verified."""
    return triage(by, report_id, "verify")


def assign(by: User, report_id: int, team: str) -> DamageReport:
    """Hand the report to a team (道路班, 消防…): new / verified / assigned → assigned."""
    return triage(by, report_id, "assign", team=team)


def resolve(by: User, report_id: int, note: str = "") -> DamageReport:
    """The damage has been dealt with: any open state → resolved."""
    return triage(by, report_id, "resolve", note=note)


def reject(by: User, report_id: int, note: str = "") -> DamageReport:
    """Not a real report (a prank, a mistake): any open state → rejected."""
    return triage(by, report_id, "reject", note=note)


@transaction.atomic
def merge(by: User, report_id: int, into_id: int) -> DamageReport:
    """Merge a report into another about the same thing: it becomes a duplicate, the other
    counts its reporters ("reported by N people"); both keep their sources and photos."""
    if report_id == into_id:
        raise Invalid(fields={"into": _("同じ報告には統合できません。")})
    # Lock both in id order, so two merges the other way round cannot deadlock.
    first, second = sorted([report_id, into_id])
    locked = {first: _locked(first), second: _locked(second)}
    report, target = locked[report_id], locked[into_id]
    for each in (report, target):
        if each.status not in DamageReport.OPEN_STATUSES:
            raise Conflict(
                _("報告 %(id)s は「%(status)s」なので統合できません。")
                % {"id": each.pk, "status": each.get_status_display()},
                report_status=each.status,
            )
    before = report.status
    report.status, report.merged_into = Status.DUPLICATE, target
    report.updated_at = target.updated_at = timezone.now()
    report.save(update_fields=["status", "merged_into", "updated_at"])
    # Reports merged into `report` earlier now belong to the target too.
    DamageReport.objects.filter(merged_into=report).update(merged_into=target)
    DamageReport.objects.filter(pk=target.pk).update(
        reporters=F("reporters") + report.reporters, updated_at=target.updated_at
    )
    target.refresh_from_db()
    _history(report, by, "merge", before, f"→ #{target.pk}")
    _history(target, by, "absorb", target.status, f"← #{report.pk}")
    audit.record(by, "report.merge", report, after={"merged_into": target.pk})
    publish("report.updated", event(report))
    publish("report.updated", event(target))
    return target


def duplicates_of(report: DamageReport) -> list[DamageReport]:
    """Open reports of the same category near in place and time: proposed for merging
    (REPORT_DUPLICATE_METRES on the spheroid, REPORT_DUPLICATE_MINUTES either side)."""
    return list(
        DamageReport.objects.near_duplicates(
            report.category,
            report.point,
            report.created_at,
            metres=settings.REPORT_DUPLICATE_METRES,
            minutes=settings.REPORT_DUPLICATE_MINUTES,
        ).exclude(pk=report.pk)[:20]
    )


@transaction.atomic
def add_photo(
    report_id: int, photo: tuple[bytes, Image.Image], by: User | None = None
) -> ReportPhoto:
    """A photo (already checked) added to a report, by staff or by its reporter shortly
    after: kept in its history, and the operations room told."""
    report = _locked(report_id)
    added = attach_photo(report, *photo)
    _added(report, by, "photo", {"photo": added.pk})
    return added


@transaction.atomic
def add_words(report_id: int, text: str, by: User | None = None) -> DamageReport:
    """Words added to a report's description (its reporter, shortly after)."""
    report = _locked(report_id)
    report.description = f"{report.description}\n{text}".strip()[:2000]
    _added(report, by, text, {"words": len(text)})
    return report


def _added(report: DamageReport, by: User | None, note: str, after: dict) -> None:
    report.updated_at = timezone.now()
    report.save(update_fields=["description", "updated_at"])
    _history(report, by, "add", report.status, note)
    audit.record(by, "report.add", report, after=after)
    publish("report.updated", event(report))


@transaction.atomic
def recategorise(report_id: int, category: str, *, contact: str) -> DamageReport:
    """The reporter (known by their private contact) says what kind of damage it is,
    while the report is still new: once staff triaged it, the category is theirs."""
    report = _locked(report_id)
    if not contact or report.reporter_contact != contact:
        raise NotFound(_("被害報告 %(id)s はありません。") % {"id": report_id})
    if report.status != Status.NEW:
        raise Conflict(_("この報告は職員が確認済みのため、種類は変えられません。"))
    before = report.category
    report.category, report.updated_at = category, timezone.now()
    report.save(update_fields=["category", "updated_at"])
    _history(report, None, "recategorise", report.status, f"{before} → {category}")
    audit.record(
        None,
        "report.recategorise",
        report,
        before={"category": before},
        after={"category": category},
    )
    publish("report.updated", event(report))
    return report
