"""The city's geography: its boundary and the districts residents live in.

Everything below the map pages needs these (reports and alert areas must lie in the city,
alerts are targeted by district), so they live in the core. They keep the `maps` app label,
and so their tables and migrations, from before the core existed.
"""

from typing import Any

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from disaster.core import readings


class DistrictQuerySet(models.QuerySet):
    def reached_by(self, area):
        """The districts an area reaches into: a shared border line alone does not."""
        return self.filter(area__intersects=area).exclude(area__touches=area)

    def population(self) -> dict[str, int]:
        """Census population and households of these districts added up (unknown: 0), and
        how many have no figures."""
        figures = self.aggregate(
            people=Coalesce(Sum("population"), 0),
            homes=Coalesce(Sum("households"), 0),
            unknown=Count("pk", filter=Q(population__isnull=True)),
        )
        return {
            "population": int(figures["people"]),
            "households": int(figures["homes"]),
            "without_figures": int(figures["unknown"]),
        }


class District(models.Model):
    """An area residents live in, used to target alerts and count answers, with its census
    population so an alert can say how many people and households it concerns.

    Districts come from e-Stat 小地域 polygons (`code` is their KEY_CODE) where a city has
    them; otherwise they may be derived (Voronoi cells of the e-Stat representative points,
    or of the shelters) and then say so.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True)
    # Reading and romanised (Hepburn) name, made from the name when the data has none
    # (disaster/core/readings.py) until an administrator checks them.
    kana = models.CharField(_("名称（カナ）"), max_length=100, blank=True)
    name_en = models.CharField(_("名称（英字）"), max_length=100, blank=True)
    readings_generated_from = models.CharField(
        _("カナ・英字を自動生成した名称（空: 出典または確認済み）"), max_length=100, blank=True
    )
    area = models.MultiPolygonField(_("区域"), srid=4326)
    is_derived = models.BooleanField(_("推定区域"), default=False)
    source = models.CharField(_("出典"), max_length=300, blank=True)
    # 郵便番号 (7 digits, no hyphen) in the district: residents without a smartphone ask for
    # their nearest shelter by SMS with a postal code.
    postal_codes = ArrayField(
        models.CharField(max_length=7), verbose_name=_("郵便番号"), default=list, blank=True
    )
    # e-Stat 小地域 KEY_CODE (9 or 11 digits): what a re-import finds the district by.
    code = models.CharField(
        _("地域コード"), max_length=20, unique=True, null=True, blank=True, default=None
    )
    population = models.PositiveIntegerField(_("人口"), null=True, blank=True)
    households = models.PositiveIntegerField(_("世帯数"), null=True, blank=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        app_label = "maps"
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **readings.save_with_readings(self, kwargs))


class CityBoundary(models.Model):
    """The municipality's boundary: reports and alert areas outside it are refused."""

    code = models.CharField(_("全国地方公共団体コード"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    area = models.MultiPolygonField(_("区域"), srid=4326)
    source = models.CharField(_("出典"), max_length=300, blank=True)

    class Meta:
        app_label = "maps"
        verbose_name = _("市区町村境界")
        verbose_name_plural = _("市区町村境界")

    def __str__(self) -> str:
        return self.name
