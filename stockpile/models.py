"""The stockpile: an item catalogue, depots (each shelter's warehouse and the central ones),
lots with expiry dates, and the movement ledger (DESIGN decision 2).

On-hand is kept per lot and may only change through a `Movement` written in the same
transaction; a CHECK constraint keeps it from going below zero whatever the code does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Item(models.Model):
    class Category(models.TextChoices):
        WATER = "water", _("飲料水")
        FOOD = "food", _("食料")
        INFANT = "infant", _("乳幼児用品")
        HYGIENE = "hygiene", _("衛生用品")
        TOILET = "toilet", _("トイレ")
        BEDDING = "bedding", _("寝具・防寒")
        MEDICAL = "medical", _("医療・救急")
        POWER = "power", _("電源・照明")
        EQUIPMENT = "equipment", _("資機材")

    code = models.SlugField(_("品目コード"), max_length=50, unique=True)
    category = models.CharField(_("分類"), max_length=20, choices=Category.choices)
    name_ja = models.CharField(_("品名"), max_length=100)
    name_en = models.CharField(_("品名（英語）"), max_length=100)
    unit_ja = models.CharField(_("単位"), max_length=20)
    unit_en = models.CharField(_("単位（英語）"), max_length=20)
    norm_per_person_day = models.DecimalField(
        _("1人1日あたりの必要量"),
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("例: 飲料水 3 L。定めのない品目は空欄。"),
    )
    norm_source = models.CharField(_("必要量の根拠"), max_length=200, blank=True)
    shelf_life_days = models.PositiveIntegerField(_("保存期間（日）"), null=True, blank=True)

    class Meta:
        verbose_name = _("品目")
        verbose_name_plural = _("品目")
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(norm_per_person_day__isnull=True) | Q(norm_per_person_day__gt=0),
                name="item_norm_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name_ja


class Depot(models.Model):
    """Where stock is kept: a shelter's warehouse, or a central warehouse (no shelter)."""

    name = models.CharField(_("名称"), max_length=200)
    point = models.PointField(_("位置"), srid=4326)
    shelter = models.OneToOneField(
        "shelters.Shelter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="depot",
        verbose_name=_("避難所"),
    )

    class Meta:
        verbose_name = _("備蓄倉庫")
        verbose_name_plural = _("備蓄倉庫")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lot(models.Model):
    class Source(models.TextChoices):
        PROCURED = "procured", _("購入")
        DONATED = "donated", _("寄付")
        PUSH = "push", _("プッシュ型支援")

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="lots")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    expires_on = models.DateField(_("有効期限"), null=True, blank=True)
    source = models.CharField(_("調達区分"), max_length=20, choices=Source.choices)
    on_hand = models.IntegerField(_("在庫数"), default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ロット")
        verbose_name_plural = _("ロット")
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="lot_on_hand_not_negative"),
            models.UniqueConstraint(
                fields=["depot", "item", "expires_on", "source"],
                name="lot_identity",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["depot", "item", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.item} {self.expires_on or '-'} @ {self.depot}"


class Movement(models.Model):
    """One line of the ledger. `quantity` is signed: what it added to its lot's on-hand."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("入庫")
        ISSUE = "issue", _("払出")
        TRANSFER_OUT = "transfer_out", _("移送（出庫）")
        TRANSFER_IN = "transfer_in", _("移送（入庫）")
        ADJUST = "adjust", _("棚卸調整")
        DISPOSE = "dispose", _("期限切れ廃棄")

    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="movements")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="movements")
    quantity = models.IntegerField(_("数量"))
    reason = models.CharField(_("理由"), max_length=30, blank=True)
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("日時"), default=timezone.now)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("入出庫記録")
        verbose_name_plural = _("入出庫記録")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero")
        ]
        indexes = [models.Index(fields=["depot", "item", "at"])]
