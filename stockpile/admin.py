from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin
from stockpile.models import (
    Depot,
    GroupNorm,
    Item,
    Lot,
    Movement,
    SupplyRequest,
    SupplyRequestLine,
    Transfer,
    TransferLot,
)


class GroupNormInline(admin.TabularInline):
    """Norms per member of a group (乳幼児, 女性, ペット…), next to the per-person norm."""

    model = GroupNorm
    extra = 0


@admin.register(Item)
class ItemAdmin(AuditedAdmin):
    inlines = [GroupNormInline]
    list_display = [
        "code",
        "name_ja",
        "category",
        "unit_ja",
        "norm_per_person_day",
        "shelf_life_days",
    ]
    list_filter = ["category"]
    search_fields = ["code", "name_ja", "name_en"]


@admin.register(Depot)
class DepotAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "shelter"]


# Quantities change only through movements, so lots and the ledger are read-only here.
@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["item", "depot", "expires_on", "source", "on_hand"]
    list_filter = ["item__category", "source"]


@admin.register(Movement)
class MovementAdmin(ReadOnlyAdmin):
    """The stock ledger: every write of stock (tablet, sheet, transfer) with who, when and
    why; the audit log links here instead of copying it."""

    list_display = ["at", "kind", "item", "depot", "quantity", "reason", "by", "note"]
    list_filter = ["kind", "reason", "depot"]
    list_select_related = ["item", "depot", "by"]


class TransferLotInline(admin.TabularInline):
    model = TransferLot
    extra = 0
    can_delete = False
    readonly_fields = ["expires_on", "source", "quantity"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# Transfers and requests move through their states by the API and the tablet pages only.
@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "item", "quantity", "from_depot", "to_depot", "status"]
    list_filter = ["status"]
    inlines = [TransferLotInline]


class SupplyRequestLineInline(admin.TabularInline):
    model = SupplyRequestLine
    extra = 0
    can_delete = False
    readonly_fields = ["item", "quantity"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SupplyRequest)
class SupplyRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "depot", "urgency", "status"]
    list_filter = ["status", "urgency"]
    inlines = [SupplyRequestLineInline]
