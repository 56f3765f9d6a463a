from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.admin_audit import AuditedAdmin
from shelters.models import Shelter


@admin.register(Shelter)
class ShelterAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "status", "capacity", "is_shelter", "is_evacuation_site"]
    list_filter = ["status", "is_shelter", "is_evacuation_site"]
    search_fields = ["name", "kana", "address"]
    filter_horizontal = ["managers"]
    readonly_fields = ["status", "status_changed_at", "status_changed_by"]
