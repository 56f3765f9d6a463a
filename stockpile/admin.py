from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.admin_audit import AuditedAdmin, ReadOnlyAdmin
from stockpile.models import Depot, Item, Lot, Movement


@admin.register(Item)
class ItemAdmin(AuditedAdmin):
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
    list_display = ["at", "kind", "item", "depot", "quantity", "reason", "by"]
    list_filter = ["kind", "reason"]
