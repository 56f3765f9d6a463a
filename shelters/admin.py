from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import PlaceNamesAdmin, ReadingsChecked, ReadOnlyAdmin
from shelters.models import HeadCount, Shelter


@admin.register(Shelter)
class ShelterAdmin(LeafletGeoAdminMixin, PlaceNamesAdmin):
    list_display = ["name", "name_en", "status", "capacity", "is_shelter", "is_evacuation_site"]
    list_filter = ["status", "is_shelter", "is_evacuation_site", ReadingsChecked]
    search_fields = ["name", "kana", "name_en", "address"]
    filter_horizontal = ["managers"]
    readonly_fields = ["status", "status_changed_at", "status_changed_by"]


# Head-counts are history: a correction is a new count, never an edit.
@admin.register(HeadCount)
class HeadCountAdmin(ReadOnlyAdmin):
    list_display = ["at", "shelter", "total", "elderly", "infants", "disabled", "pets", "by"]
    list_filter = ["shelter"]
