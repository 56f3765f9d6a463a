from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin
from shelters.models import HeadCount, Shelter


@admin.register(Shelter)
class ShelterAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "status", "capacity", "is_shelter", "is_evacuation_site"]
    list_filter = ["status", "is_shelter", "is_evacuation_site"]
    search_fields = ["name", "kana", "address"]
    filter_horizontal = ["managers"]
    readonly_fields = ["status", "status_changed_at", "status_changed_by"]


# Head-counts are history: a correction is a new count, never an edit.
@admin.register(HeadCount)
class HeadCountAdmin(ReadOnlyAdmin):
    list_display = ["at", "shelter", "total", "elderly", "infants", "disabled", "pets", "by"]
    list_filter = ["shelter"]
