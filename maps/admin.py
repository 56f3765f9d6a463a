from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import AuditedAdmin
from disaster.core.geography import CityBoundary, District


@admin.register(District)
class DistrictAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "is_derived", "source"]
    list_filter = ["is_derived"]


@admin.register(CityBoundary)
class CityBoundaryAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "code"]
