"""Designated shelters (指定避難所) and emergency evacuation sites (指定緊急避難場所).

The two are different in Japanese law and the words matter: a 避難場所 is a place to flee to
from an immediate danger (a park, a school ground), a 避難所 is where people stay. A site may
be either or both.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disaster.core import readings
from disaster.core.roles import STAFF_ROLES, Role, role_of


class Hazard(models.TextChoices):
    """The eight hazards of the GSI / 推奨データセット data, in their official order."""

    FLOOD = "flood", _("洪水")
    LANDSLIDE = "landslide", _("崖崩れ、土石流及び地滑り")
    STORM_SURGE = "storm_surge", _("高潮")
    EARTHQUAKE = "earthquake", _("地震")
    TSUNAMI = "tsunami", _("津波")
    LARGE_FIRE = "large_fire", _("大規模な火事")
    INLAND_FLOODING = "inland_flooding", _("内水氾濫")
    VOLCANO = "volcano", _("火山現象")


class KnnDistance(models.Func):
    """PostGIS's `a <-> b`: the index-assisted nearest-neighbour ordering (KNN) over the
    GiST index, in planar degrees, so for picking candidates, not for metres."""

    arg_joiner = " <-> "
    template = "(%(expressions)s)"
    output_field = models.FloatField()


class ShelterQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The shelters a user may see and run: every one for operations staff and
        administrators, their own for a shelter manager, none for anyone else. The one
        scoping rule the API, the tablet pages and the stockpile's depots share."""
        role = role_of(user)
        if role in STAFF_ROLES:
            return self
        if role == Role.SHELTER_MANAGER:
            return self.filter(managers=user)
        return self.none()

    def nearest(self, here, candidates: int = 50):
        """Nearest first by true distance (`distance`, in metres): the `candidates` nearest
        are found by a KNN scan of the index, then ordered on the sphere (a degree of
        longitude is shorter than one of latitude here, so KNN alone can swap near ties)."""
        from django.contrib.gis.db.models.functions import Distance

        point = models.Value(here, output_field=models.PointField(srid=4326))
        knn = self.order_by(KnnDistance("point", point)).values("pk")[:candidates]
        return (
            self.filter(pk__in=models.Subquery(knn))
            .annotate(distance=Distance("point", here))
            .order_by("distance", "pk")
        )

    def accepting(self):
        return self.filter(status=Shelter.Status.OPEN)

    def open_to_public(self, hazard: str | None = None):
        """Shelters residents may be sent to now (open, or open and full) for the hazard,
        with their occupancy."""
        shelters = self.filter(
            status__in=[Shelter.Status.OPEN, Shelter.Status.FULL], is_shelter=True
        )
        if hazard:
            shelters = shelters.serving(hazard)
        return shelters.with_occupancy()

    def serving(self, hazard: str):
        return self.filter(hazards__contains=[hazard])

    def with_occupancy(self):
        """Annotate `occupancy` (the head-count observed last, 0 if none) and `occupancy_at`
        (when it was observed)."""
        latest = HeadCount.objects.filter(shelter=models.OuterRef("pk")).order_by(*CURRENT_FIRST)
        return self.annotate(
            occupancy=Coalesce(models.Subquery(latest.values("total")[:1]), 0),
            occupancy_at=models.Subquery(latest.values("observed_at")[:1]),
        )


class Shelter(models.Model):
    class Status(models.TextChoices):
        CLOSED = "closed", _("閉鎖")
        PREPARING = "preparing", _("開設準備")
        OPEN = "open", _("開設")
        FULL = "full", _("満員・受入停止")
        EVACUATING = "evacuating", _("他所へ避難中")

    name = models.CharField(_("名称"), max_length=200)
    # Reading and romanised (Hepburn) name: from the open data, or made from the name when
    # it has none (disaster/core/readings.py) until an administrator checks them.
    kana = models.CharField(_("名称（カナ）"), max_length=200, blank=True)
    name_en = models.CharField(_("名称（英字）"), max_length=200, blank=True)
    readings_generated_from = models.CharField(
        _("カナ・英字を自動生成した名称（空: 出典または確認済み）"), max_length=200, blank=True
    )
    address = models.CharField(_("所在地"), max_length=300)
    point = models.PointField(_("位置"), srid=4326)
    # GSI gives a site one 共通ID per dataset: as 指定避難所 and as 指定緊急避難場所.
    gsi_shelter_id = models.CharField(
        _("共通ID（指定避難所）"), max_length=40, unique=True, null=True, blank=True
    )
    gsi_site_id = models.CharField(
        _("共通ID（指定緊急避難場所）"), max_length=40, unique=True, null=True, blank=True
    )
    # The row of a デジタル庁 推奨データセット list this shelter came from, as
    # "<全国地方公共団体コード>-<ID>". Not GSI's 共通ID (a list's ID is whatever the municipality
    # numbers its rows with, "1", "2"…), and only unique within that municipality's list, hence
    # the code in front. See shelters/opendata.py.
    opendata_id = models.CharField(
        _("オープンデータID"), max_length=80, unique=True, null=True, blank=True
    )

    is_shelter = models.BooleanField(_("指定避難所"), default=True)
    is_evacuation_site = models.BooleanField(_("指定緊急避難場所"), default=False)
    hazards = ArrayField(
        models.CharField(max_length=20, choices=Hazard.choices),
        verbose_name=_("対象とする災害"),
        default=list,
        blank=True,
    )

    accessible_toilet = models.BooleanField(_("多目的トイレ"), default=False)
    generator = models.BooleanField(_("発電機"), default=False)
    welfare_space = models.BooleanField(_("福祉スペース"), default=False)
    pets_allowed = models.BooleanField(_("ペット同伴可"), default=False)

    phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    capacity = models.PositiveIntegerField(_("収容人数（宿泊）"), default=0)
    capacity_day = models.PositiveIntegerField(_("収容人数（日中）"), default=0)
    target_people = models.CharField(_("受入対象者"), max_length=200, blank=True)
    notes = models.TextField(_("備考"), blank=True)

    status = models.CharField(
        _("開設状況"), max_length=20, choices=Status.choices, default=Status.CLOSED
    )
    status_changed_at = models.DateTimeField(_("状況の更新日時"), default=timezone.now)
    # When it last opened (from closed or preparing): head-counts observed before it are
    # refused, since nobody was counted at a shelter that was not open.
    opened_at = models.DateTimeField(_("開設日時"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("状況の更新者"),
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_shelters",
        verbose_name=_("運営担当者"),
    )

    objects = ShelterQuerySet.as_manager()

    class Meta:
        verbose_name = _("避難所・避難場所")
        verbose_name_plural = _("避難所・避難場所")
        ordering = ["name"]
        indexes = [GinIndex(fields=["hazards"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **readings.save_with_readings(self, kwargs))


# People with needs (要配慮者), each counted within a head-count's total.
NEEDS = (
    "elderly",
    "infants",
    "pregnant",
    "disabled",
    "care_needed",
    "medical_care",
    "language_support",
)
# Every figure of a head-count besides its total: the needs; women, also within the total
# (sanitary products); pets; and the people the shelter feeds who sleep elsewhere.
FIGURES = (*NEEDS, "women", "pets", "supported_at_home", "supported_in_cars")
# Also within the total (the needs and women); pets and people elsewhere are counted apart.
WITHIN_TOTAL = (*NEEDS, "women")
# The current count is the one observed last (ties: the one recorded last).
CURRENT_FIRST = ("-observed_at", "-id")


class HeadCountQuerySet(models.QuerySet):
    def with_current(self):
        """Annotate `current_id`: the id of its shelter's current count, so that a list of
        counts says which one is current without a query per row."""
        latest = HeadCount.objects.filter(shelter=models.OuterRef("shelter")).order_by(
            *CURRENT_FIRST
        )
        return self.annotate(current_id=models.Subquery(latest.values("pk")[:1]))


class HeadCount(models.Model):
    """One count of the people staying at a shelter, as observed at `observed_at` (which
    may be hours before it was recorded, `at`: a count typed offline, a paper record of the
    first night). The one observed last is the shelter's current occupancy; the others are
    history (never edited: a correction is a new count)."""

    # A designated shelter in Japan holds hundreds, the largest a few thousand; anything past
    # this is a typing slip (an extra zero), not a count.
    MAX_PEOPLE = 20_000

    shelter = models.ForeignKey(Shelter, on_delete=models.CASCADE, related_name="headcounts")
    at = models.DateTimeField(_("記録日時"), default=timezone.now)
    observed_at = models.DateTimeField(_("観測日時"), default=timezone.now)
    total = models.PositiveIntegerField(_("避難者数"))
    # How many households the people counted make up (世帯数, which the open status file
    # carries beside 人数 where the city publishes counts); empty when not counted.
    households = models.PositiveIntegerField(_("世帯数"), null=True, blank=True)
    elderly = models.PositiveIntegerField(_("高齢者"), default=0)
    infants = models.PositiveIntegerField(_("乳幼児"), default=0)
    pregnant = models.PositiveIntegerField(_("妊産婦"), default=0)
    disabled = models.PositiveIntegerField(_("障害のある方"), default=0)
    care_needed = models.PositiveIntegerField(_("要介護の方"), default=0)
    medical_care = models.PositiveIntegerField(_("医療的ケアが必要な方"), default=0)
    language_support = models.PositiveIntegerField(_("外国語の支援が必要な方"), default=0)
    women = models.PositiveIntegerField(_("女性"), default=0)
    pets = models.PositiveIntegerField(_("ペット（頭）"), default=0)
    # 在宅避難者・車中泊: people who sleep at home or in their cars and come to the shelter
    # for food, water and information (many after the 2024 Noto earthquake). Not in `total`
    # (nobody's bed here) but fed from the shelter's stock.
    supported_at_home = models.PositiveIntegerField(_("在宅避難者"), default=0)
    supported_in_cars = models.PositiveIntegerField(_("車中泊"), default=0)
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    NEEDS = NEEDS
    FIGURES = FIGURES

    objects = HeadCountQuerySet.as_manager()

    class Meta:
        verbose_name = _("避難者数")
        verbose_name_plural = _("避難者数")
        ordering = list(CURRENT_FIRST)
        indexes = [models.Index(fields=["shelter", *CURRENT_FIRST])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__lte=20_000) & models.Q(pets__lte=20_000),
                name="headcount_sane_bound",
            ),
            models.CheckConstraint(
                condition=models.Q(supported_at_home__lte=20_000)
                & models.Q(supported_in_cars__lte=20_000),
                name="headcount_elsewhere_sane_bound",
            ),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__lte": models.F("total")}),
                    name=f"headcount_{name}_within_total",
                )
                for name in WITHIN_TOTAL
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shelter} {self.total} @ {self.observed_at:%Y-%m-%d %H:%M}"

    @property
    def care_needs(self) -> int:
        """People with needs (要配慮者), as the operations room adds them up."""
        return sum(getattr(self, need) for need in NEEDS)

    @property
    def supported_elsewhere(self) -> int:
        return self.supported_at_home + self.supported_in_cars
