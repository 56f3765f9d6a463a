"""Damage reports (被害報告): a place, a category, a severity, photos, a status and its history."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disaster.core.models import Incident, User


def as_geography(expression):
    """A 4326 point as PostGIS geography, so distances are metres on the spheroid."""
    return Cast(expression, output_field=gis_models.PointField(srid=4326, geography=True))


class WithinMetres(models.Func):
    """PostGIS `ST_DWithin(a::geography, b::geography, metres)`: true distance, and the
    functional GiST index on `point::geography` answers it."""

    function = "ST_DWithin"
    output_field = models.BooleanField()

    def __init__(self, field: str, point, metres: float):
        value = models.Value(point, output_field=gis_models.PointField(srid=4326))
        super().__init__(as_geography(field), as_geography(value), models.Value(float(metres)))


class DamageReportQuerySet(models.QuerySet):
    def unresolved(self):
        return self.filter(status__in=DamageReport.OPEN_STATUSES)

    def in_bbox(self, west: float, south: float, east: float, north: float):
        from django.contrib.gis.geos import Polygon

        return self.filter(point__intersects=Polygon.from_bbox((west, south, east, north)))

    def matching(
        self,
        *,
        category: list[str] | None = None,
        severity: list[int] | None = None,
        severity_min: int | None = None,
        status: list[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        area=None,
    ):
        """The report filters of the list, the map layer and the tiles: each one given
        narrows the reports (`until` is exclusive, `area` a GEOS polygon)."""
        found = self
        if category:
            found = found.filter(category__in=category)
        if severity:
            found = found.filter(severity__in=severity)
        if severity_min is not None:
            found = found.filter(severity__gte=severity_min)
        if status:
            found = found.filter(status__in=status)
        if since is not None:
            found = found.filter(created_at__gte=since)
        if until is not None:
            found = found.filter(created_at__lt=until)
        if bbox is not None:
            found = found.in_bbox(*bbox)
        if area is not None:
            found = found.filter(point__intersects=area)
        return found

    def within_metres(self, point, metres: float):
        return self.filter(WithinMetres("point", point, metres))

    def near_duplicates(
        self, category: str, point, at: dt.datetime, *, metres: float, minutes: float
    ):
        """Open reports of `category` within `metres` of `point` and `minutes` of `at`,
        oldest first: what a new report at that place and time probably repeats."""
        window = dt.timedelta(minutes=minutes)
        return (
            self.unresolved()
            .filter(category=category, created_at__range=(at - window, at + window))
            .within_metres(point, metres)
            .order_by("created_at", "id")
        )

    def sources(self, report: DamageReport):
        """The report and every report merged into it: who told us, and how."""
        return self.filter(models.Q(pk=report.pk) | models.Q(merged_into=report)).order_by(
            "created_at", "id"
        )


class DamageReport(models.Model):
    """A report of damage at a place (被害報告): from staff, the web form, LINE or SMS.

    The reporter's contact is personal data: only operations staff see it. Reports of the
    same thing are merged into one, which keeps every source ("reported by N people").
    """

    class Category(models.TextChoices):
        BUILDING = "building", _("建物被害")
        FIRE = "fire", _("火災")
        FLOODING = "flooding", _("浸水")
        LANDSLIDE = "landslide", _("土砂災害")
        ROAD_BLOCKED = "road_blocked", _("道路通行止め")
        BRIDGE = "bridge", _("橋梁被害")
        POWER = "power", _("停電")
        WATER = "water", _("断水")
        GAS = "gas", _("ガス停止")
        TELECOM = "telecom", _("通信障害")
        PEOPLE = "people", _("閉じ込め・負傷者")
        OTHER = "other", _("その他")

    class Status(models.TextChoices):
        NEW = "new", _("新規")
        VERIFIED = "verified", _("確認済み")
        ASSIGNED = "assigned", _("対応中")
        RESOLVED = "resolved", _("解決")
        DUPLICATE = "duplicate", _("重複")
        REJECTED = "rejected", _("却下")

    class Source(models.TextChoices):
        STAFF = "staff", _("職員")
        WEB = "web", _("ウェブ")
        LINE = "line", "LINE"
        SMS = "sms", "SMS"

    OPEN_STATUSES = (Status.NEW, Status.VERIFIED, Status.ASSIGNED)

    point = gis_models.PointField(_("位置"), srid=4326)
    address = models.CharField(_("住所・目印"), max_length=300, blank=True)
    category = models.CharField(_("種類"), max_length=20, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(_("深刻度"))
    description = models.TextField(_("内容"), max_length=2000, blank=True)
    source = models.CharField(_("経路"), max_length=10, choices=Source.choices)
    reporter_contact = models.CharField(_("通報者の連絡先"), max_length=200, blank=True)
    reported_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
        verbose_name=_("災害"),
    )
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.NEW, db_index=True
    )
    team = models.CharField(_("担当班"), max_length=100, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
        verbose_name=_("統合先"),
    )
    reporters = models.PositiveIntegerField(_("通報数"), default=1)
    # A keyed hash of the public sender's address, for rate limiting only (not reversible).
    client_key = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("受付日時"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    objects = DamageReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("被害報告")
        verbose_name_plural = _("被害報告")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=5), name="severity_1_to_5"
            )
        ]
        indexes = [
            # Near-duplicate hints measure in metres (geography); the plain GiST index on
            # `point` (GeoDjango's own) serves bboxes and tiles.
            GistIndex(as_geography("point"), name="report_point_geography"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"


def original_photo_path(photo: ReportPhoto, filename: str) -> str:
    return f"reports/original/{photo.report_id}/{secrets.token_hex(8)}{photo.extension}"


def public_photo_path(photo: ReportPhoto, filename: str) -> str:
    return f"reports/public/{photo.report_id}/{secrets.token_hex(8)}{photo.extension}"


class ReportPhoto(models.Model):
    """A photo of a report: the original as sent (operations staff only, it may carry the
    reporter's GPS position) and a copy with all metadata stripped for everyone else."""

    report = models.ForeignKey(DamageReport, on_delete=models.CASCADE, related_name="photos")
    original = models.FileField(upload_to=original_photo_path)
    public = models.FileField(upload_to=public_photo_path)
    content_type = models.CharField(max_length=30)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.report_id}: {self.public.name}"

    @property
    def extension(self) -> str:
        return {"image/png": ".png", "image/webp": ".webp"}.get(self.content_type, ".jpg")


class ReportChange(models.Model):
    """The history of a report: who changed what, when."""

    report = models.ForeignKey(DamageReport, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action} {self.at:%Y-%m-%d %H:%M}"
