"""The stockpile: an item catalogue, depots (each shelter's warehouse and the central ones),
lots with expiry dates, and the movement ledger (DESIGN decision 2).

On-hand is kept per lot and may only change through a `Movement` written in the same
transaction; a CHECK constraint keeps it from going below zero whatever the code does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from disaster.core.roles import is_staff_role
from shelters.models import Shelter


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
        PETS = "pets", _("ペット用品")

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
    # Equipment is needed per head, not per day: 内閣府のトイレガイドライン asks for one
    # toilet per 50 people at first and one per 20 once the stay grows long.
    people_per_unit = models.PositiveIntegerField(
        _("1台あたりの人数（発災当初）"),
        null=True,
        blank=True,
        help_text=_("例: トイレ 50 人に 1 基"),
    )
    people_per_unit_long_term = models.PositiveIntegerField(
        _("1台あたりの人数（長期化後）"),
        null=True,
        blank=True,
        help_text=_("例: トイレ 20 人に 1 基"),
    )

    class Meta:
        verbose_name = _("品目")
        verbose_name_plural = _("品目")
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(norm_per_person_day__isnull=True) | Q(norm_per_person_day__gt=0),
                name="item_norm_positive",
            ),
            models.CheckConstraint(
                condition=Q(norm_per_person_day__isnull=True) | Q(people_per_unit__isnull=True),
                name="item_one_kind_of_norm",
            ),
        ]

    def __str__(self) -> str:
        return self.name_ja

    @property
    def name(self) -> str:
        """The name in the language of the page (Japanese unless English is chosen)."""
        return self.name_en if get_language() == "en" and self.name_en else self.name_ja

    @property
    def unit(self) -> str:
        return self.unit_en if get_language() == "en" and self.unit_en else self.unit_ja


class NeedGroup(models.TextChoices):
    """Groups of people (and pets) a head-count counts, who need an item apart from the
    per-person norm. Each value is the name of the head-count's field that counts them."""

    # 乳幼児: infants and young children together, as the head-count (and the 備蓄ナビ list
    # the norms come from) count them.
    INFANTS = "infants", _("乳幼児")
    ELDERLY = "elderly", _("高齢者")
    CARE_NEEDED = "care_needed", _("要介護の方")
    WOMEN = "women", _("女性")
    PETS = "pets", _("ペット（頭）")


class GroupNorm(models.Model):
    """How much of an item one member of a group needs a day, next to the item's
    per-person norm: 乳児用液体ミルク per infant, 生理用品 per woman, pet food per pet. Days
    of supply count both: everyone × the per-person norm + each group × its norm."""

    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="group_norms", verbose_name=_("品目")
    )
    group = models.CharField(_("対象"), max_length=20, choices=NeedGroup.choices)
    per_day = models.DecimalField(_("1人（1頭）1日あたりの必要量"), max_digits=8, decimal_places=3)
    source = models.CharField(_("根拠"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("対象別の必要量")
        verbose_name_plural = _("対象別の必要量")
        ordering = ["item", "group"]
        constraints = [
            models.UniqueConstraint(fields=["item", "group"], name="group_norm_once_per_group"),
            models.CheckConstraint(condition=Q(per_day__gt=0), name="group_norm_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item} / {self.get_group_display()}: {self.per_day}"


class DepotQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The depots a user may see and use: every one for staff (central warehouses too),
        else those of the shelters the user may run (`ShelterQuerySet.visible_to`)."""
        if is_staff_role(user):
            return self
        return self.filter(shelter__in=Shelter.objects.visible_to(user))


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

    objects = DepotQuerySet.as_manager()

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


class Transfer(models.Model):
    """Stock sent from one depot to another: planned, dispatched (in transit), received.

    Dispatching writes transfer-out movements at the sender and records which lots left in
    `TransferLot`; receiving writes transfer-in movements that rebuild the same lots (expiry
    and source) at the receiver. Between the two the stock is on no shelf: it is in transit.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("予定")
        DISPATCHED = "dispatched", _("輸送中")
        RECEIVED = "received", _("受領済み")
        CANCELLED = "cancelled", _("取消")

    from_depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="transfers_out")
    to_depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="transfers_in")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="transfers")
    quantity = models.PositiveIntegerField(_("数量"))
    status = models.CharField(
        _("状況"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    request_line = models.ForeignKey(
        "SupplyRequestLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers",
    )
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("移送")
        verbose_name_plural = _("移送")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(from_depot=models.F("to_depot")), name="transfer_between_two_depots"
            ),
        ]
        indexes = [models.Index(fields=["status", "to_depot"])]

    def __str__(self) -> str:
        return f"{self.item} ×{self.quantity}: {self.from_depot} → {self.to_depot}"


class TransferLot(models.Model):
    """What one dispatched transfer took from one lot, so the receiver gets the same lot."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lots")
    expires_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Lot.Source.choices)
    quantity = models.PositiveIntegerField()


class SupplyRequest(models.Model):
    """A shelter asks for supplies; operations staff approve it and fulfil its lines."""

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("通常")
        URGENT = "urgent", _("至急")
        CRITICAL = "critical", _("緊急（命に関わる）")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("要請中")
        APPROVED = "approved", _("承認済み")
        FULFILLED = "fulfilled", _("充足")
        REJECTED = "rejected", _("却下")
        CANCELLED = "cancelled", _("取下げ")

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="supply_requests")
    urgency = models.CharField(
        _("緊急度"), max_length=20, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    status = models.CharField(
        _("状況"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(_("判断の理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("物資要請")
        verbose_name_plural = _("物資要請")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "depot"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.depot}"


class SupplyRequestLineQuerySet(models.QuerySet):
    def with_progress(self):
        """Annotate how much of each line is committed (in any live transfer), in transit
        and received."""

        def total(*statuses: str):
            return Coalesce(Sum("transfers__quantity", filter=Q(transfers__status__in=statuses)), 0)

        live = [Transfer.Status.PLANNED, Transfer.Status.DISPATCHED, Transfer.Status.RECEIVED]
        return self.annotate(
            committed=total(*live),
            in_transit=total(Transfer.Status.DISPATCHED),
            received=total(Transfer.Status.RECEIVED),
        )


class SupplyRequestLine(models.Model):
    request = models.ForeignKey(SupplyRequest, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("数量"))

    objects = SupplyRequestLineQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="request_quantity_positive"),
            models.UniqueConstraint(fields=["request", "item"], name="one_line_per_item"),
        ]


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

    class Reason(models.TextChoices):
        """Why a count differed from the books (棚卸差異の理由)."""

        FOUND = "found", _("発見")
        LOST = "lost", _("紛失")
        DAMAGED = "damaged", _("破損")
        EXPIRED = "expired", _("期限切れ")
        UNRECORDED = "unrecorded", _("記録なしの配布")
        DRILL = "drill", _("訓練で使用")
        OTHER = "other", _("その他")

    reason = models.CharField(_("理由"), max_length=30, choices=Reason.choices, blank=True)
    transfer = models.ForeignKey(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
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
