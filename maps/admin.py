from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import AuditedAdmin, PlaceNamesAdmin, ReadingsChecked
from disaster.core.geography import CityBoundary, District


@admin.register(District)
class DistrictAdmin(LeafletGeoAdminMixin, PlaceNamesAdmin):
    list_display = ["name", "kana", "name_en", "is_derived", "source"]
    list_filter = ["is_derived", ReadingsChecked]
    search_fields = ["name", "kana", "name_en"]


@admin.register(CityBoundary)
class CityBoundaryAdmin(LeafletGeoAdminMixin, AuditedAdmin):
    list_display = ["name", "code"]
